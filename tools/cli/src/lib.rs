//! darkroom's command line as a library: [`run`] takes the arguments and where to
//! write, and answers the exit code, so tests drive it in-process against a test host.
//!
//! ```no_run
//! let (mut out, mut err) = (Vec::new(), Vec::new());
//! let mut io = darkroom_cli::Io { out: &mut out, err: &mut err, progress: false };
//! let code = darkroom_cli::run(["darkroom", "--url", "http://127.0.0.1:3000", "job", "list"], &mut io);
//! assert_eq!(code, 0, "{}", String::from_utf8_lossy(&err));
//! ```

pub mod args;
pub mod client;
pub mod dataset;
pub mod error;
pub mod job;
pub mod output;
pub mod resumable;
pub mod upload;

use args::{Cli, Command, DatasetCommand, JobCommand};
use clap::Parser;
pub use client::Client;
pub use error::{Error, Result};
use std::ffi::OsString;
use std::io::Write;

/// Where a command writes: summaries and results to `out`, notes and errors to `err`,
/// progress bars to the process's stderr when `progress` (it is a terminal). `err`
/// must not hold stderr's lock while a bar draws (its ticker thread writes there).
pub struct Io<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    pub progress: bool,
}

/// Parses `args` (the program name first) and runs the command: 0 on success, 1 when
/// the command failed (the error is printed as `error: ...`), 2 for bad arguments.
pub fn run<I, T>(args: I, io: &mut Io<'_>) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version go to stdout and succeed; the rest is a usage error.
            let to = if e.use_stderr() { &mut *io.err } else { &mut *io.out };
            let _ = write!(to, "{}", e.render());
            return e.exit_code();
        }
    };
    match execute(&cli, io) {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(io.err, "error: {e}");
            1
        }
    }
}

fn execute(cli: &Cli, io: &mut Io<'_>) -> Result<i32> {
    let client = Client::new(&cli.url, cli.token.as_deref());
    match &cli.command {
        Command::Upload(args) => upload::command(&client, args, io),
        Command::Dataset(DatasetCommand::Upload { file, format }) => dataset::command(&client, file, *format, io),
        Command::Job(JobCommand::Run(args)) => job::run(&client, args, io),
        Command::Job(JobCommand::Status { id }) => job::status(&client, id, io),
        Command::Job(JobCommand::Result { id, csv }) => job::result(&client, id, *csv, io),
        Command::Job(JobCommand::List { limit, cursor }) => job::list(&client, *limit, cursor.as_deref(), io),
        Command::Job(JobCommand::Cancel { id }) => job::cancel(&client, id, io),
    }
}
