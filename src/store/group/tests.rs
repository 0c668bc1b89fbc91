//! The committer's batching, ordering, failures and shutdown.
