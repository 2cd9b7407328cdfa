"""ejabberd external authentication against the Oplot directory."""
