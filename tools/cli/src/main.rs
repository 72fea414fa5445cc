//! `darkroom`: see `darkroom --help` and the README's CLI section.

use std::io::IsTerminal;

fn main() {
    let stdout = std::io::stdout();
    // Not locked for the whole run: the progress bars' ticker thread writes to stderr too.
    let mut stderr = std::io::stderr();
    let progress = stderr.is_terminal();
    let mut io = darkroom_cli::Io { out: &mut stdout.lock(), err: &mut stderr, progress };
    let code = darkroom_cli::run(std::env::args_os(), &mut io);
    std::process::exit(code);
}
