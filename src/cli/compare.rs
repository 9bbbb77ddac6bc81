//! `ewtune compare`: every applicable accountant's answer side by side.

use super::args::{fmt_num, report_json, AccountantArgs, Format, MechanismArgs};
use crate::accountant::{build, AccountantKind, Report};
use crate::error::Error;
use clap::Args;
use std::time::Instant;

/// Arguments of `ewtune compare` (the flags of `epsilon`/`delta`; `--accountant` is refused:
/// every accountant is run, each with the flags that are its parameters).
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// What is composed.
    #[command(flatten)]
    pub mechanism: MechanismArgs,
    /// Target δ ∈ (0, 1): compare ε.
    #[arg(
        long,
        allow_hyphen_values = true,
        required_unless_present = "epsilon",
        conflicts_with = "epsilon"
    )]
    pub delta: Option<f64>,
    /// ε ≥ 0: compare δ.
    #[arg(long, allow_hyphen_values = true)]
    pub epsilon: Option<f64>,
    /// Accountant options (shared by every accountant).
    #[command(flatten)]
    pub accountant: AccountantArgs,
    /// Output format: a table, or a JSON array of report objects.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// What is asked: ε for a δ, or δ for an ε.
#[derive(Debug, Clone, Copy)]
enum Query {
    Epsilon(f64),
    Delta(f64),
}

/// One accountant's outcome.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A report.
    Done(Report),
    /// Skipped or failed, with the reason.
    Skipped(&'static str, String),
}

/// Run every accountant of [`AccountantKind::ALL`] on the arguments' event.
///
/// # Errors
/// Bad input (flags, δ, ε); per-accountant failures are returned as [`Outcome::Skipped`].
pub fn outcomes(a: &CompareArgs) -> crate::Result<Vec<Outcome>> {
    let ask = match (a.delta, a.epsilon) {
        (Some(d), _) => Query::Epsilon(crate::accountant::check_delta(d)?),
        (None, Some(e)) => Query::Delta(crate::accountant::check_epsilon(e)?),
        (None, None) => {
            return Err(Error::invalid(
                "delta",
                "(missing)",
                "give --delta or --epsilon",
            ));
        }
    };
    if let Some(k) = a.accountant.accountant {
        return Err(Error::invalid(
            "accountant",
            k,
            "compare runs every accountant; leave --accountant out",
        ));
    }
    let event = a.mechanism.event()?;
    let settings = a.accountant.settings()?;
    let mut out = Vec::new();
    for &kind in AccountantKind::ALL {
        let start = Instant::now();
        let res = build(&settings.config(kind)).and_then(|mut acc| {
            acc.supports(&event)?;
            acc.compose(&event, 1)?;
            match ask {
                Query::Epsilon(d) => acc.epsilon(d),
                Query::Delta(e) => acc.delta(e),
            }
        });
        out.push(match res {
            Ok(mut r) => {
                r.seconds = start.elapsed().as_secs_f64();
                Outcome::Done(r)
            }
            Err(e @ Error::UnsupportedEvent { .. }) => {
                Outcome::Skipped(kind.name(), format!("not applicable: {e}"))
            }
            Err(e) => Outcome::Skipped(kind.name(), format!("failed: {e}")),
        });
    }
    Ok(out)
}

/// The outcomes as an aligned table.
pub fn table(outcomes: &[Outcome], query_delta: bool) -> String {
    let what = if query_delta { "delta" } else { "epsilon" };
    let mut s = format!(
        "{:<11} {:>18} {:>18} {:>18} {:<12} {:<10} {:>10}\n",
        "accountant", what, "lower", "upper", "guarantee", "adjacency", "seconds"
    );
    let opt = |x: Option<f64>| x.map(fmt_num).unwrap_or_else(|| "-".into());
    let mut notes = Vec::new();
    for o in outcomes {
        match o {
            Outcome::Done(r) => {
                let name = match r.order {
                    Some(k) => format!("{}-{k}", r.accountant),
                    None => r.accountant.clone(),
                };
                let g = format!(
                    "{}{}{}",
                    r.guarantee.name(),
                    if r.vacuous { "*" } else { "" },
                    if r.valid { "" } else { "!" }
                );
                s.push_str(&format!(
                    "{:<11} {:>18} {:>18} {:>18} {:<12} {:<10} {:>10.4}\n",
                    name,
                    fmt_num(r.value()),
                    opt(r.lower),
                    opt(r.upper),
                    g,
                    r.adjacency.to_string(),
                    r.seconds
                ));
                for n in &r.notes {
                    notes.push(format!("{name}: {n}"));
                }
            }
            Outcome::Skipped(name, why) => {
                s.push_str(&format!("{name:<11} {:>18}\n", "-"));
                notes.push(format!("{name}: {why}"));
            }
        }
    }
    s.push_str("(* vacuous bound, ! approximation invalid at the answer)\n");
    for n in notes {
        s.push_str(&format!("note  {}\n", super::args::plain_text(&n)));
    }
    s
}

/// Run `ewtune compare`.
///
/// # Errors
/// Bad input.
pub fn run(a: CompareArgs) -> anyhow::Result<()> {
    let outs = outcomes(&a)?;
    match a.format {
        Format::Text => print!("{}", table(&outs, a.delta.is_none())),
        Format::Json => {
            let mut arr = Vec::new();
            for o in &outs {
                match o {
                    Outcome::Done(r) => arr.push(report_json(r)),
                    Outcome::Skipped(name, why) => eprintln!("note: {name}: {why}"),
                }
            }
            println!("{}", serde_json::Value::Array(arr));
        }
    }
    Ok(())
}
