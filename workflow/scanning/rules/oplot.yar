// YARA rules shipped with Oplot. Operators add their own in scan-policy.toml (yara_rules).

rule Oplot_Test_Yara_Marker
{
    meta:
        description = "test marker used by Oplot's scanning tests"
    strings:
        $marker = "OPLOT-YARA-TEST-MARKER"
    condition:
        $marker
}

rule Suspicious_PowerShell_Download_Cradle
{
    meta:
        description = "PowerShell that downloads and runs code"
    strings:
        $a = "IEX (New-Object Net.WebClient).DownloadString" nocase
        $b = "Invoke-Expression (New-Object System.Net.WebClient)" nocase
    condition:
        any of them
}
