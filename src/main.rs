//! The `ewtune` binary: parse, run, map errors to exit codes (0 ok, 1 computation failed,
//! 2 bad usage or input).

use clap::Parser;
use ewtune::cli::{run, Cli};
use ewtune::Error;

fn flag(name: &str) -> String {
    format!("--{}", name.replace('_', "-"))
}

fn main() {
    let cli = Cli::parse(); // clap exits with code 2 on usage errors
    if let Err(e) = run(cli) {
        let code = match e.downcast_ref::<Error>() {
            Some(Error::InvalidParameter {
                name,
                value,
                reason,
            }) => {
                eprintln!("error: {} = {value}: {reason}", flag(name));
                2
            }
            Some(err) => {
                eprintln!("error: {err}");
                if err.is_usage() {
                    2
                } else {
                    1
                }
            }
            None => {
                eprintln!("error: {e:#}");
                1
            }
        };
        std::process::exit(code);
    }
}
