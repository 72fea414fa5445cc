//! `darkroom`: see `darkroom --help` and the README's CLI section.

use std::io::IsTerminal;

fn main() {
    let (stdout, stderr) = (std::io::stdout(), std::io::stderr());
    let progress = stderr.is_terminal();
    let mut io = darkroom_cli::Io { out: &mut stdout.lock(), err: &mut stderr.lock(), progress };
    let code = darkroom_cli::run(std::env::args_os(), &mut io);
    std::process::exit(code);
}
