-- The kept credit file suite result of each of the run's provider files (a version the run holds
-- under two names counts twice, as its rows do).
select validated.result
from run_input_files as run_files
inner join ce_credit_file_validations as validated
    on validated.file_sha256 = run_files.sha256
    and validated.config_fingerprint = run_files.config_fingerprint
where run_files.input_kind = 'provider' and validated.suite_fingerprint = $suite_fingerprint
order by run_files.source_file
