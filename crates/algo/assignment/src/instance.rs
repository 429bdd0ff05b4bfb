//! The shared instance file format, encoded and decoded in memory (this crate does no I/O;
//! the generator, the Rust bench and `bench/assignment/peers.py` read and write files).
//!
//! All integers and floats little-endian:
//!
//! ```text
//! offset  size              field
//! 0       8                 magic  b"LRASGN01"
//! 8       8   u64           kind   0 = dense, 1 = sparse (CSR)
//! 16      8   u64           rows
//! 24      8   u64           cols
//! 32      8   u64           nnz    (dense: rows * cols)
//! 40      ...               payload
//! dense payload:  rows*cols f64, row-major; +inf = forbidden pair
//! sparse payload: (rows+1) u64 indptr, nnz u32 column indices, nnz f64 costs
//! ```

use crate::{AssignmentError, DenseCost, SparseCost};

pub const MAGIC: &[u8; 8] = b"LRASGN01";
pub const HEADER_LEN: usize = 40;

/// A decoded instance file.
#[derive(Clone, Debug, PartialEq)]
pub enum Instance {
    Dense(DenseCost),
    Sparse(SparseCost),
}

pub fn encode_dense(m: &DenseCost) -> Vec<u8> {
    let mut out = header(0, m.rows(), m.cols(), m.rows() * m.cols());
    out.reserve(m.costs().len() * 8);
    for &c in m.costs() {
        out.extend_from_slice(&c.to_le_bytes());
    }
    out
}

pub fn encode_sparse(m: &SparseCost) -> Vec<u8> {
    let mut out = header(1, m.rows(), m.cols(), m.nnz());
    out.reserve((m.rows() + 1) * 8 + m.nnz() * 12);
    for &p in m.indptr() {
        out.extend_from_slice(&(p as u64).to_le_bytes());
    }
    for &j in m.indices() {
        out.extend_from_slice(&j.to_le_bytes());
    }
    for &c in m.costs() {
        out.extend_from_slice(&c.to_le_bytes());
    }
    out
}

fn header(kind: u64, rows: usize, cols: usize, nnz: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN);
    out.extend_from_slice(MAGIC);
    for x in [kind, rows as u64, cols as u64, nnz as u64] {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

fn err(msg: impl Into<String>) -> AssignmentError {
    AssignmentError::Format(msg.into())
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

/// Decodes and validates an instance.
pub fn decode(bytes: &[u8]) -> Result<Instance, AssignmentError> {
    if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC {
        return Err(err("missing LRASGN01 header"));
    }
    let kind = u64_at(bytes, 8);
    let to_usize = |x: u64| usize::try_from(x).map_err(|_| err("size does not fit usize"));
    let rows = to_usize(u64_at(bytes, 16))?;
    let cols = to_usize(u64_at(bytes, 24))?;
    let nnz = to_usize(u64_at(bytes, 32))?;
    let body = &bytes[HEADER_LEN..];
    let f64s = |b: &[u8]| -> Vec<f64> {
        b.chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .collect()
    };
    match kind {
        0 => {
            if rows.checked_mul(cols) != Some(nnz) || nnz.checked_mul(8) != Some(body.len()) {
                return Err(err("dense payload size does not match rows * cols"));
            }
            Ok(Instance::Dense(DenseCost::new(rows, cols, f64s(body))?))
        }
        1 => {
            let need = rows
                .checked_add(1)
                .and_then(|r| r.checked_mul(8))
                .and_then(|a| nnz.checked_mul(12).and_then(|b| a.checked_add(b)));
            if need != Some(body.len()) {
                return Err(err("sparse payload size does not match rows and nnz"));
            }
            let p_len = (rows + 1) * 8;
            let indptr = body[..p_len]
                .chunks_exact(8)
                .map(|c| to_usize(u64::from_le_bytes(c.try_into().unwrap_or([0; 8]))))
                .collect::<Result<Vec<_>, _>>()?;
            let indices = body[p_len..p_len + nnz * 4]
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes(c.try_into().unwrap_or([0; 4])))
                .collect();
            let costs = f64s(&body[p_len + nnz * 4..]);
            Ok(Instance::Sparse(SparseCost::new(
                rows, cols, indptr, indices, costs,
            )?))
        }
        k => Err(err(format!("unknown kind {k}"))),
    }
}
