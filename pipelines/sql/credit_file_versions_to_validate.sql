-- The run's accepted provider file versions that the current credit file suite has not validated yet.
select distinct run_files.sha256, run_files.config_fingerprint
from run_input_files as run_files
where
    run_files.input_kind = 'provider'
    and run_files.status = 'accepted'
    and not exists (
        select 1
        from ce_credit_file_validations as validated
        where
            validated.file_sha256 = run_files.sha256
            and validated.config_fingerprint = run_files.config_fingerprint
            and validated.suite_fingerprint = $suite_fingerprint
    )
order by all
