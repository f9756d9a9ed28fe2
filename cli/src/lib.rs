//! The `dreamster` command line: deploy, artist, fan and auditor commands (issue: CLI). Not built yet.
