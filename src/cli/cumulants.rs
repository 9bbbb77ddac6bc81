//! `ewtune cumulants`.

use super::args::{plain_words, Format, MechanismArgs};
use crate::cumulants::MAX_ORDER;
use crate::error::Error;
use crate::mechanism::Adjacency;
use crate::precision::Precision;
use clap::Args;
use rug::float::Round;
use serde_json::json;

/// Arguments of `ewtune cumulants`.
#[derive(Debug, Args)]
pub struct CumulantsArgs {
    /// The mechanism (per-step cumulants, times `--steps`).
    #[command(flatten)]
    pub mechanism: MechanismArgs,
    /// Highest order (1–6).
    #[arg(long, value_parser = crate::cli::args::integer::<i64>, default_value_t = 6, allow_hyphen_values = true)]
    pub max_order: i64,
    /// MPFR precision in bits.
    #[arg(long, value_parser = crate::cli::args::integer::<i64>, default_value_t = 256, allow_hyphen_values = true)]
    pub precision: i64,
    /// Ordering: remove or add (add-remove prints both).
    #[arg(long, value_enum, default_value_t = Adjacency::AddRemove)]
    pub adjacency: Adjacency,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Run `ewtune cumulants`.
///
/// # Errors
/// Bad input or a failed quadrature.
pub fn run(a: CumulantsArgs) -> anyhow::Result<()> {
    if !(1..=MAX_ORDER as i64).contains(&a.max_order) {
        return Err(Error::invalid(
            "max_order",
            a.max_order,
            format!("must be between 1 and {MAX_ORDER}"),
        )
        .into());
    }
    let m = a.mechanism.mechanism()?;
    // The pair of the chosen relation (replace-one doubles a Gaussian's sensitivity; a
    // mechanism without the relation is refused): docs/math.md §16.3.
    let m = match crate::event::Composition::from_event(&m.into(), 1, "cumulants")?
        .for_adjacency(a.adjacency, "cumulants")?
        .parts
        .as_slice()
    {
        [(mapped, _)] => *mapped,
        _ => {
            return Err(Error::invalid(
                "mechanism",
                m.describe(),
                "is a no-op or non-private: its privacy loss has no cumulants",
            )
            .into())
        }
    };
    let steps = a.mechanism.steps()?;
    let precision = u32::try_from(a.precision)
        .map_err(|_| Error::invalid("precision", a.precision, "must be a bit count"))
        .and_then(Precision::new)?;
    let adjacency = a.adjacency;
    let max_order = a.max_order as usize;
    let mut out = Vec::new();
    for &dir in adjacency.directions() {
        let c = m.certified_cumulants(dir, precision)?.times(steps);
        if let Some(j) =
            c.p.iter()
                .chain(&c.q)
                .position(|x| x.lo.is_nan() || x.hi.is_nan())
        {
            // An internal failure, never printed as an enclosure.
            return Err(Error::NotCertified(format!(
                "the certified cumulant {} of {} ({} ordering) came out undefined (NaN)",
                j % MAX_ORDER + 1,
                m.describe(),
                dir.name()
            ))
            .into());
        }
        let side = |v: &[crate::precision::Interval]| {
            v[..max_order]
                .iter()
                .enumerate()
                .map(|(j, x)| {
                    // −0 is written as 0; the 40-digit ends are rounded outward, so that
                    // they enclose the value as the binary ends do.
                    let z = |v: f64| if v == 0.0 { 0.0 } else { v };
                    json!({
                        "order": j + 1,
                        "value": z(x.mid_f64()),
                        "value_exact": mid_text(x),
                        "lower": z(x.lo_f64()),
                        "upper": z(x.hi_f64()),
                        "lower_exact": digits(&x.lo, 40, Round::Down),
                        "upper_exact": digits(&x.hi, 40, Round::Up),
                    })
                })
                .collect::<Vec<_>>()
        };
        out.push(json!({
            "direction": dir.name(),
            "P": side(&c.p),
            "Q": side(&c.q),
        }));
    }
    let doc = json!({
        "mechanism": m.describe(),
        "steps": steps,
        "precision_bits": precision.bits(),
        "guarantee": "certified enclosure: the exact cumulant lies in [lower, upper]",
        "orderings": out,
    });
    match a.format {
        Format::Json => println!("{doc}"),
        Format::Text => {
            println!(
                "{} x {steps}, {} bits (certified enclosures)",
                m.describe(),
                precision.bits()
            );
            for o in doc["orderings"].as_array().expect("invariant: array") {
                println!("{} ordering", o["direction"].as_str().unwrap_or(""));
                for side in ["P", "Q"] {
                    for k in o[side].as_array().expect("invariant: array") {
                        let value = match k["value"].as_f64() {
                            Some(v) if v.is_finite() => format!("{v:.16e}"),
                            // Beyond the f64 range: the midpoint at the working precision.
                            _ => k["value_exact"].as_str().unwrap_or("").to_string(),
                        };
                        println!(
                            "  {side} kappa{}  {value:>24}  [{}, {}]",
                            k["order"],
                            plain_words(k["lower_exact"].as_str().unwrap_or("")),
                            plain_words(k["upper_exact"].as_str().unwrap_or(""))
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

/// `digits` significant digits rounded in the direction given (0 without a sign).
fn digits(x: &rug::Float, digits: usize, round: Round) -> String {
    if x.is_zero() {
        "0".into()
    } else {
        x.to_string_radix_round(10, Some(digits), round)
    }
}

/// The midpoint of an enclosure at its own precision, 17 significant digits (finite wherever the
/// ends are, also beyond the f64 range).
fn mid_text(x: &crate::precision::Interval) -> String {
    let mut m = x.lo.clone();
    m += &x.hi;
    m /= 2;
    digits(&m, 17, Round::Nearest)
}
