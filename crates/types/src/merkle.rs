//! A pool of per-fan codes committed on chain as one hash: the Merkle root of the codes'
//! hashes. Each fan later gets one code with its proof, checkable against the root alone.
//!
//! Leaf = `content_hash(code)`; parent = `content_hash(left ‖ right)`; an odd node at the end
//! of a level is carried up unchanged.

use alloc::vec::Vec;

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

pub fn leaf(code: &[u8]) -> Hash32 {
    content_hash(code)
}

/// The root of `leaves`; `None` for an empty pool.
pub fn root(leaves: &[Hash32]) -> Option<Hash32> {
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        level = next_level(&level);
    }
    level.first().copied()
}

/// One step of a proof: the sibling's hash and whether it sits on the left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub sibling: Hash32,
    pub sibling_on_left: bool,
}

/// The proof that `leaves[index]` is in the tree.
pub fn proof(leaves: &[Hash32], index: usize) -> Option<Vec<Step>> {
    if index >= leaves.len() {
        return None;
    }
    let mut steps = Vec::new();
    let mut level = leaves.to_vec();
    let mut i = index;
    while level.len() > 1 {
        let sibling = i ^ 1;
        if let Some(h) = level.get(sibling) {
            steps.push(Step {
                sibling: *h,
                sibling_on_left: sibling < i,
            });
        }
        level = next_level(&level);
        i /= 2;
    }
    Some(steps)
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

    #[test]
    fn every_code_proves_and_no_other_does() {
        for n in 1..=9usize {
            let codes: Vec<Vec<u8>> = (0..n)
                .map(|i| alloc::format!("CODE-{i}").into_bytes())
                .collect();
            let leaves: Vec<Hash32> = codes.iter().map(|c| leaf(c)).collect();
            let r = root(&leaves).expect("root");
            for i in 0..n {
                let p = proof(&leaves, i).expect("proof");
                assert!(verify(leaves[i], &p, r), "n={n} i={i}");
                assert!(!verify(leaf(b"FORGED"), &p, r));
            }
            assert!(proof(&leaves, n).is_none());
        }
        assert_eq!(root(&[]), None);
    }
}
