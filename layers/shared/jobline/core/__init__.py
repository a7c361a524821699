"""The job core: the job record and its states, retry decisions, the job-type and queue
registries, a running job's context and the named errors. No AWS client and no database here."""
