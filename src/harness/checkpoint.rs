//! Checkpoints: the parameters and Adam moments in a safetensors file plus a JSON state file.
//!
//! The safetensors layout is written directly (it is small): an 8-byte little-endian header
//! length N, N bytes of JSON `{"name": {"dtype": "F64", "shape": [len], "data_offsets": [a, b]},
//! "__metadata__": {...}}`, then the raw little-endian data. Any safetensors reader opens it.
//! Tensors: `params`, and for Adam `adam_m`, `adam_v`. Values are stored in f64, so a resumed
//! run continues from exactly the same numbers (and, since all randomness is counter-based,
//! reproduces the uninterrupted run bit for bit).
//!
//! # References
//! Hugging Face safetensors format, <https://github.com/huggingface/safetensors> (README, "Format").

use crate::error::{Error, Result};
use crate::harness::dpsgd::TrainState;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The JSON side of a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// Steps completed.
    pub steps_done: u64,
    /// sha256 of the run configuration (a resume with another config is refused).
    pub config_sha256: String,
    /// The noise multiplier in use.
    pub sigma: f64,
    /// ewtune version.
    pub version: String,
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

/// Encode named 1-D f64 tensors as safetensors bytes.
pub fn safetensors_bytes(
    tensors: &[(&str, &[f64])],
    metadata: &BTreeMap<String, String>,
) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    let mut offset = 0usize;
    for (name, data) in tensors {
        let end = offset + data.len() * 8;
        header.insert(
            (*name).to_string(),
            serde_json::json!({"dtype": "F64", "shape": [data.len()], "data_offsets": [offset, end]}),
        );
        offset = end;
    }
    if !metadata.is_empty() {
        header.insert("__metadata__".into(), serde_json::json!(metadata));
    }
    let mut h = serde_json::Value::Object(header).to_string().into_bytes();
    while h.len() % 8 != 0 {
        h.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + h.len() + offset);
    out.extend_from_slice(&(h.len() as u64).to_le_bytes());
    out.extend_from_slice(&h);
    for (_, data) in tensors {
        for v in *data {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

/// Decode the F64 tensors of a safetensors file.
///
/// # Errors
/// [`Error::Parse`] for malformed input or a dtype other than F64.
pub fn read_safetensors_f64(bytes: &[u8], path: &Path) -> Result<BTreeMap<String, Vec<f64>>> {
    let parse = |m: String| Error::Parse {
        path: path.display().to_string(),
        message: m,
    };
    if bytes.len() < 8 {
        return Err(parse("shorter than 8 bytes".into()));
    }
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("invariant: 8 bytes")) as usize;
    let hdr = bytes
        .get(8..8 + n)
        .ok_or_else(|| parse("truncated header".into()))?;
    let data = &bytes[8 + n..];
    let v: serde_json::Value =
        serde_json::from_slice(hdr).map_err(|e| parse(format!("header: {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| parse("header is not an object".into()))?;
    let mut out = BTreeMap::new();
    for (name, t) in obj {
        if name == "__metadata__" {
            continue;
        }
        if t["dtype"] != "F64" {
            return Err(parse(format!(
                "tensor {name}: dtype {} (expected F64)",
                t["dtype"]
            )));
        }
        let offs = t["data_offsets"]
            .as_array()
            .and_then(|a| Some((a.first()?.as_u64()? as usize, a.get(1)?.as_u64()? as usize)))
            .ok_or_else(|| parse(format!("tensor {name}: bad data_offsets")))?;
        let raw = data
            .get(offs.0..offs.1)
            .ok_or_else(|| parse(format!("tensor {name}: offsets out of range")))?;
        out.insert(
            name.clone(),
            raw.chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("invariant: 8 bytes")))
                .collect(),
        );
    }
    Ok(out)
}

/// Write `dir/state.safetensors` and `dir/state.json` (each atomically; the JSON last, so a
/// crash leaves the previous checkpoint's JSON pointing at a complete state or none).
///
/// # Errors
/// [`Error::Io`].
pub fn save(dir: &Path, state: &TrainState, meta: &CheckpointMeta) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let mut md = BTreeMap::new();
    md.insert("steps_done".to_string(), state.steps_done.to_string());
    let mut tensors: Vec<(&str, &[f64])> = vec![("params", &state.params)];
    if !state.m.is_empty() {
        tensors.push(("adam_m", &state.m));
        tensors.push(("adam_v", &state.v));
    }
    write_atomic(
        &dir.join("state.safetensors"),
        &safetensors_bytes(&tensors, &md),
    )?;
    let json = serde_json::to_vec_pretty(meta).map_err(|e| Error::Parse {
        path: dir.display().to_string(),
        message: e.to_string(),
    })?;
    write_atomic(&dir.join("state.json"), &json)
}

/// Read a checkpoint written by [`save`].
///
/// # Errors
/// [`Error::Io`], [`Error::Parse`] (missing tensors, steps disagreeing between the files).
pub fn load(dir: &Path) -> Result<(TrainState, CheckpointMeta)> {
    let jp = dir.join("state.json");
    let text = std::fs::read(&jp).map_err(io_err(&jp))?;
    let meta: CheckpointMeta = serde_json::from_slice(&text).map_err(|e| Error::Parse {
        path: jp.display().to_string(),
        message: e.to_string(),
    })?;
    let sp = dir.join("state.safetensors");
    let bytes = std::fs::read(&sp).map_err(io_err(&sp))?;
    let mut t = read_safetensors_f64(&bytes, &sp)?;
    let params = t.remove("params").ok_or_else(|| Error::Parse {
        path: sp.display().to_string(),
        message: "no `params` tensor".into(),
    })?;
    let state = TrainState {
        steps_done: meta.steps_done,
        params,
        m: t.remove("adam_m").unwrap_or_default(),
        v: t.remove("adam_v").unwrap_or_default(),
    };
    Ok((state, meta))
}
