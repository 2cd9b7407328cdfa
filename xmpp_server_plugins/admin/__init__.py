"""``oplot-admin``: the operator's command line for the directory, policy, audit and
sessions."""
