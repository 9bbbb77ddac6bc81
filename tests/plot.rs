//! `ewtune plot`: PNG and SVG from a sweep CSV, bands from bracket columns, bad columns refused.

use ewtune::plot::{plot, PlotParams};

const CSV: &str = "row,grid,method,steps,sigma,epsilon,epsilon_lower,epsilon_upper,guarantee,truth_epsilon,truth_accountant
0,S1,est,10,1,0.5,,,estimate,0.55,pld
1,S1,est,100,1,1.5,,,estimate,1.6,pld
2,S1,est,1000,1,4,,,estimate,4.2,pld
3,S1,cert,10,1,0.55,0.5,0.6,bracket,0.55,pld
4,S1,cert,100,1,1.6,1.5,1.7,bracket,1.6,pld
5,S1,cert,1000,1,4.2,4.0,4.4,bracket,4.2,pld
6,S2,est,10,1,0.7,,,estimate,,
7,S2,est,100,1,nan,,,error,,
8,S2,est,1000,1,2.5,,,estimate,,
";

#[test]
fn writes_png_and_svg_per_panel() {
    let d = tempfile::tempdir().expect("tmp");
    let csv = d.path().join("s.csv");
    std::fs::write(&csv, CSV).expect("write");
    let files = plot(&PlotParams {
        csv: vec![csv],
        panel_by: Some("grid".into()),
        out_prefix: d.path().join("figs/eps"),
        title: "t".into(),
        ..PlotParams::default()
    })
    .expect("plots");
    assert_eq!(files.len(), 4);
    let png = std::fs::read(d.path().join("figs/eps-S1.png")).expect("png");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let svg = std::fs::read_to_string(d.path().join("figs/eps-S1.svg")).expect("svg");
    assert!(svg.contains("<svg"));
    assert!(
        svg.contains("cert (band: certified bracket)"),
        "band labelled in the legend"
    );
    assert!(svg.contains("truth (pld)"));
    assert!(svg.contains("<polygon"), "bracket drawn as a band");
    let svg2 = std::fs::read_to_string(d.path().join("figs/eps-S2.svg")).expect("svg");
    assert!(
        !svg2.contains("<polygon"),
        "no band without bracket columns"
    );
}

#[test]
fn unknown_column_is_an_error() {
    let d = tempfile::tempdir().expect("tmp");
    let csv = d.path().join("s.csv");
    std::fs::write(&csv, CSV).expect("write");
    let e = plot(&PlotParams {
        csv: vec![csv],
        x: "noise".into(),
        out_prefix: d.path().join("f"),
        ..PlotParams::default()
    })
    .expect_err("bad column");
    assert!(e.to_string().contains("noise"));
}
