-- The kept failing rows of the credit file suite, under the names the run's provider files have.
select
    run_files.source_file,
    findings.source_row,
    findings."check",
    findings."column",
    findings.value,
    findings.message,
    findings.action
from run_input_files as run_files
inner join ce_credit_file_findings as findings
    on findings.file_sha256 = run_files.sha256
    and findings.config_fingerprint = run_files.config_fingerprint
where run_files.input_kind = 'provider' and findings.suite_fingerprint = $suite_fingerprint
