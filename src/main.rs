//! The `kopiaplan` command: parse arguments, run the library, print what it
//! returned, map the result to an exit code (0 ok, 1 input errors, 2 usage).

// No panic reachable from input (issue 17): code outside tests neither
// unwraps nor expects; what can fail returns a diagnostic. The few panics
// left guard data built into the binary, each with a unit test.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod cli;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let arguments = cli::Cli::parse();
    let outcome = cli::run(arguments);
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(outcome.stderr.as_bytes());
    if let Some(stdout) = outcome.stdout {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
        if stdout.write(&mut out).and_then(|()| out.flush()).is_err() {
            return ExitCode::from(1);
        }
    }
    ExitCode::from(outcome.exit_code)
}
