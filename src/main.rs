//! The `ewtune` binary: parse, run, map errors to exit codes (0 ok, 1 computation failed,
//! 2 bad usage or input).

use clap::Parser;
use ewtune::cli::args::error_text;
use ewtune::cli::{run, Cli};
use ewtune::Error;

/// How a parameter is named to the user: a flag (`sampling_rate` → `--sampling-rate`), or an
/// environment variable (an all-uppercase name such as `EWTUNE_CUDA_KERNELS`) as it is.
fn flag(name: &str) -> String {
    if name.chars().any(|c| c.is_ascii_uppercase()) && !name.chars().any(|c| c.is_ascii_lowercase())
    {
        format!("environment variable {name}")
    } else {
        format!("--{}", name.replace('_', "-"))
    }
}

fn main() {
    // Rust ignores SIGPIPE, so a print to a closed pipe (`ewtune compare ... | head -3`) panicked
    // with a backtrace (exit 101). With the default action the process ends quietly on it, as
    // Unix filters do (status 141 in a shell).
    #[cfg(unix)]
    // SAFETY: called first in main, before any thread exists; SIG_DFL is a valid action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse(); // clap exits with code 2 on usage errors
    if let Err(e) = run(cli) {
        let code = match e.downcast_ref::<Error>() {
            Some(Error::InvalidParameter {
                name,
                value,
                reason,
            }) => {
                let text = format!("{} = {value}: {reason}", flag(name));
                eprintln!("error: {}", error_text(&text));
                2
            }
            Some(err) => {
                eprintln!("error: {}", error_text(&err.to_string()));
                if err.is_usage() {
                    2
                } else {
                    1
                }
            }
            None => {
                eprintln!("error: {}", error_text(&format!("{e:#}")));
                1
            }
        };
        std::process::exit(code);
    }
}
