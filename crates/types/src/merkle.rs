//! A pool of per-fan codes committed on chain as one hash: the Merkle root of the codes'
//! hashes. Each fan later gets one code with its proof, checkable against the root alone.
//!
//! Leaf = `commitment::code_leaf(salt, code)` with each code's own salt (see
//! [`crate::commitment`]); parent = `content_hash(left ‖ right)`; an odd node at the end of
//! a level is carried up unchanged.

use alloc::string::String;
use alloc::vec::Vec;

use crate::commitment::{code_leaf, code_salt, Salt};
use crate::{content_hash, Hash32};

fn parent(left: &Hash32, right: &Hash32) -> Hash32 {
    let mut both = [0u8; 64];
    both[..32].copy_from_slice(left);
    both[32..].copy_from_slice(right);
    content_hash(&both)
}

fn next_level(level: &[Hash32]) -> Vec<Hash32> {
    level
        .chunks(2)
        .map(|pair| match pair {
            [l, r] => parent(l, r),
            [single] => *single,
            _ => [0; 32],
        })
        .collect()
}

/// The leaves of a pool committed before salting: each code's bare hash. Only to serve
/// pools already on chain that way; new pools are committed with [`pool_leaves`].
pub fn bare_leaves<S: AsRef<str>>(codes: &[S]) -> Vec<Hash32> {
    codes
        .iter()
        .map(|c| content_hash(c.as_ref().as_bytes()))
        .collect()
}

/// The leaves of a pool as committed: salted under `pool_key`, or bare for a pool committed
/// before salting (`None`).
pub fn leaves<S: AsRef<str>>(codes: &[S], pool_key: Option<&Salt>) -> Vec<Hash32> {
    match pool_key {
        Some(key) => pool_leaves(codes, key),
        None => bare_leaves(codes),
    }
}

/// The leaves of a pool under `pool_key`: each code salted with its own salt.
pub fn pool_leaves<S: AsRef<str>>(codes: &[S], pool_key: &Salt) -> Vec<Hash32> {
    codes
        .iter()
        .zip(0u32..)
        .map(|(c, i)| code_leaf(&code_salt(pool_key, i), c.as_ref().as_bytes()))
        .collect()
}

/// Most codes in one pool.
pub const MAX_POOL: usize = 100_000;

/// Why a pool of codes cannot be committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolError {
    /// No code, or more than [`MAX_POOL`].
    Size(usize),
    /// The code at this (0-based) position is empty or holds a NUL.
    BadCode(usize),
    /// This code is in the pool twice: two holders would get the same one.
    Repeated(String),
    /// A quantity limit above the number of codes: holders past the last code would
    /// unlock and get nothing.
    FewerCodesThanEditions { codes: usize, limit: u32 },
}

impl core::fmt::Display for PoolError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PoolError::Size(n) => write!(f, "a pool is 1 to {MAX_POOL} codes, not {n}"),
            PoolError::BadCode(i) => write!(f, "code {} is empty or holds a NUL", i.saturating_add(1)),
            PoolError::Repeated(c) => write!(f, "the code {c:?} is in the pool twice"),
            PoolError::FewerCodesThanEditions { codes, limit } => write!(
                f,
                "{codes} codes cannot serve the first {limit} editions: limit the perk to {codes} editions or add codes"
            ),
        }
    }
}

/// The root a pool of codes commits to under `pool_key` (`None`: a pool committed before
/// salting, of bare leaves), once the pool is checked — the one rule for the CLI's
/// `--codes-file`, the web wizard and the API's upload.
pub fn pool_root<S: AsRef<str>>(codes: &[S], pool_key: Option<&Salt>) -> Result<Hash32, PoolError> {
    if codes.is_empty() || codes.len() > MAX_POOL {
        return Err(PoolError::Size(codes.len()));
    }
    if let Some(i) = codes
        .iter()
        .position(|c| c.as_ref().is_empty() || c.as_ref().contains('\0'))
    {
        return Err(PoolError::BadCode(i));
    }
    let mut sorted: Vec<&str> = codes.iter().map(AsRef::as_ref).collect();
    sorted.sort_unstable();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        return Err(PoolError::Repeated(w[0].into()));
    }
    root(&leaves(codes, pool_key)).ok_or(PoolError::Size(0))
}

/// The quantity limit a pool perk gets: the one given if the codes cover it, else as
/// many editions as there are codes.
pub fn pool_limit(codes: usize, limit: Option<u32>) -> Result<u32, PoolError> {
    let most = u32::try_from(codes).map_err(|_| PoolError::Size(codes))?;
    match limit {
        Some(l) if l > most => Err(PoolError::FewerCodesThanEditions { codes, limit: l }),
        Some(l) => Ok(l),
        None => Ok(most),
    }
}

/// Every level of the tree over `leaves`: level 0 is the leaves, the last is the root
/// alone; empty for an empty pool. What a server stores once to answer proofs by lookup.
pub fn levels(leaves: &[Hash32]) -> Vec<Vec<Hash32>> {
    let mut all = Vec::new();
    if leaves.is_empty() {
        return all;
    }
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        let up = next_level(&level);
        all.push(level);
        level = up;
    }
    all.push(level);
    all
}

/// The root of `leaves`; `None` for an empty pool.
pub fn root(leaves: &[Hash32]) -> Option<Hash32> {
    levels(leaves).last().and_then(|top| top.first().copied())
}

/// One step of a proof: the sibling's hash and whether it sits on the left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub sibling: Hash32,
    pub sibling_on_left: bool,
}

/// Where a proof's steps are in a tree of `len` leaves, bottom up: (level, index of the
/// sibling in that level, whether it sits on the left). A node carried up alone has no
/// step at its level. `None` if `index` is not a leaf.
pub fn proof_positions(len: usize, index: usize) -> Option<Vec<(usize, usize, bool)>> {
    if index >= len {
        return None;
    }
    let mut positions = Vec::new();
    let (mut width, mut i, mut level) = (len, index, 0usize);
    while width > 1 {
        let sibling = i ^ 1;
        if sibling < width {
            positions.push((level, sibling, sibling < i));
        }
        width = width.div_ceil(2);
        i /= 2;
        level = level.saturating_add(1);
    }
    Some(positions)
}

/// The proof that `leaves[index]` is in the tree.
pub fn proof(leaves: &[Hash32], index: usize) -> Option<Vec<Step>> {
    let tree = levels(leaves);
    proof_positions(leaves.len(), index)?
        .into_iter()
        .map(|(level, at, on_left)| {
            Some(Step {
                sibling: *tree.get(level)?.get(at)?,
                sibling_on_left: on_left,
            })
        })
        .collect()
}

/// Whether `leaf` with `steps` leads to `root`.
pub fn verify(leaf: Hash32, steps: &[Step], root: Hash32) -> bool {
    let mut h = leaf;
    for s in steps {
        h = if s.sibling_on_left {
            parent(&s.sibling, &h)
        } else {
            parent(&h, &s.sibling)
        };
    }
    h == root
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: Salt = [9; 32];

    #[test]
    fn pools_refuse_repeats_and_uncovered_editions() {
        assert_eq!(pool_root::<&str>(&[], Some(&KEY)), Err(PoolError::Size(0)));
        assert_eq!(
            pool_root(&["a", ""], Some(&KEY)),
            Err(PoolError::BadCode(1))
        );
        assert_eq!(
            pool_root(&["a", "b\0"], Some(&KEY)),
            Err(PoolError::BadCode(1))
        );
        assert_eq!(
            pool_root(&["a", "b", "a"], Some(&KEY)),
            Err(PoolError::Repeated("a".into()))
        );
        let leaves = pool_leaves(&["a", "b"], &KEY);
        assert_eq!(
            pool_root(&["a", "b"], Some(&KEY)),
            Ok(root(&leaves).expect("root"))
        );
        assert_ne!(
            pool_root(&["a", "b"], Some(&[8; 32])),
            pool_root(&["a", "b"], Some(&KEY))
        );
        assert_eq!(pool_limit(3, None), Ok(3));
        assert_eq!(pool_limit(3, Some(2)), Ok(2));
        assert_eq!(
            pool_limit(3, Some(4)),
            Err(PoolError::FewerCodesThanEditions { codes: 3, limit: 4 })
        );
    }

    #[test]
    fn every_code_proves_and_no_other_does() {
        for n in 1..=9usize {
            let codes: Vec<String> = (0..n).map(|i| alloc::format!("CODE-{i}")).collect();
            let leaves = pool_leaves(&codes, &KEY);
            let r = root(&leaves).expect("root");
            for i in 0..n {
                let p = proof(&leaves, i).expect("proof");
                assert!(verify(leaves[i], &p, r), "n={n} i={i}");
                let salt = code_salt(&KEY, u32::try_from(i).expect("small"));
                assert!(!verify(code_leaf(&salt, b"FORGED"), &p, r));
            }
            assert!(proof(&leaves, n).is_none());
        }
        assert_eq!(root(&[]), None);
    }

    /// The attack salting stops: a holder knows the pool's pattern (four digits) and tests
    /// every candidate against their neighbour's leaf in their own proof, unsalted and with
    /// their own code's salt. Neither finds it; only the neighbour's salt (which no holder
    /// but the neighbour gets) would.
    #[test]
    fn a_proof_does_not_let_its_holder_guess_a_neighbours_code() {
        let codes: Vec<String> = [4821, 1177, 9036, 5550]
            .iter()
            .map(|c| alloc::format!("{c:04}"))
            .collect();
        let leaves = pool_leaves(&codes, &KEY);
        let steps = proof(&leaves, 0).expect("proof");
        let neighbour = steps[0].sibling;
        let own_salt = code_salt(&KEY, 0);
        let found = (0..10_000u32)
            .map(|c| alloc::format!("{c:04}"))
            .find(|guess| {
                content_hash(guess.as_bytes()) == neighbour
                    || code_leaf(&own_salt, guess.as_bytes()) == neighbour
            });
        assert_eq!(found, None);
        // The test can fail: with the neighbour's salt, the same search finds its code.
        let theirs = code_salt(&KEY, 1);
        let with_theirs = (0..10_000u32)
            .map(|c| alloc::format!("{c:04}"))
            .find(|guess| code_leaf(&theirs, guess.as_bytes()) == neighbour);
        assert_eq!(with_theirs.as_deref(), Some("1177"));
    }
}
