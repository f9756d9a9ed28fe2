//! A block's event records read with a plan compiled once per runtime from its metadata.
//!
//! subxt finds where each event of a block ends by walking its fields through the type
//! registry with a visitor, byte by byte for every `Vec<u8>` and `[u8; 32]`; for a
//! contract-heavy chain that walk was most of the indexer's CPU in a backfill (measured
//! with `cargo bench -p dreamster-indexer --bench backfill`). The plan here knows, per
//! pallet event, which fields are fixed-size (skipped in one step) and which are
//! length-prefixed, so a record is cut in a few steps. It reads only what it is sure of:
//! any record it cannot cut (an unknown pallet or event, a type it has no plan for, a
//! length that does not add up) makes it give the block back to subxt's reading, which
//! reports what it cannot read. `tests/upgrade.rs` checks both readings agree on every
//! block of the scripted story.

use std::collections::HashMap;

use dreamster_client::ContractEvent;
use parity_scale_codec::{Compact, Decode};
use scale_info::{PortableRegistry, TypeDef, TypeDefPrimitive};
use subxt::utils::{AccountId32, H256};
use subxt::Metadata;

/// How to step over one value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Skip {
    Fixed(usize),
    /// A SCALE compact integer.
    Compact,
    /// A compact length, then that many items.
    Seq(Box<Skip>),
    Array(u32, Box<Skip>),
    All(Vec<Skip>),
    /// A one-byte variant index, then that variant's fields.
    Variant(HashMap<u8, Skip>),
}

/// Deeper than this is a recursive type: no plan (subxt reads such runtimes).
const MAX_DEPTH: u32 = 32;

fn compile(types: &PortableRegistry, id: u32, depth: u32) -> Option<Skip> {
    if depth > MAX_DEPTH {
        return None;
    }
    let all = |ids: &mut dyn Iterator<Item = u32>| -> Option<Skip> {
        let parts = ids
            .map(|id| compile(types, id, depth + 1))
            .collect::<Option<Vec<_>>>()?;
        Some(simplify(Skip::All(parts)))
    };
    Some(match &types.resolve(id)?.type_def {
        TypeDef::Composite(c) => all(&mut c.fields.iter().map(|f| f.ty.id))?,
        TypeDef::Tuple(t) => all(&mut t.fields.iter().map(|f| f.id))?,
        TypeDef::Variant(v) => Skip::Variant(
            v.variants
                .iter()
                .map(|variant| {
                    Some((
                        variant.index,
                        all(&mut variant.fields.iter().map(|f| f.ty.id))?,
                    ))
                })
                .collect::<Option<HashMap<_, _>>>()?,
        ),
        TypeDef::Sequence(s) => Skip::Seq(Box::new(compile(types, s.type_param.id, depth + 1)?)),
        TypeDef::Array(a) => simplify(Skip::Array(
            a.len,
            Box::new(compile(types, a.type_param.id, depth + 1)?),
        )),
        TypeDef::Compact(_) => Skip::Compact,
        TypeDef::Primitive(p) => match p {
            TypeDefPrimitive::Bool | TypeDefPrimitive::U8 | TypeDefPrimitive::I8 => Skip::Fixed(1),
            TypeDefPrimitive::U16 | TypeDefPrimitive::I16 => Skip::Fixed(2),
            TypeDefPrimitive::Char | TypeDefPrimitive::U32 | TypeDefPrimitive::I32 => {
                Skip::Fixed(4)
            }
            TypeDefPrimitive::U64 | TypeDefPrimitive::I64 => Skip::Fixed(8),
            TypeDefPrimitive::U128 | TypeDefPrimitive::I128 => Skip::Fixed(16),
            TypeDefPrimitive::U256 | TypeDefPrimitive::I256 => Skip::Fixed(32),
            TypeDefPrimitive::Str => Skip::Seq(Box::new(Skip::Fixed(1))),
        },
        TypeDef::BitSequence(_) => return None,
    })
}

/// Fixed-size parts folded into one step.
fn simplify(skip: Skip) -> Skip {
    match skip {
        Skip::All(parts) if parts.iter().all(|p| matches!(p, Skip::Fixed(_))) => Skip::Fixed(
            parts
                .iter()
                .map(|p| match p {
                    Skip::Fixed(n) => *n,
                    _ => 0,
                })
                .sum(),
        ),
        Skip::All(mut parts) if parts.len() == 1 => parts.remove(0),
        Skip::Array(len, item) => match *item {
            Skip::Fixed(n) => Skip::Fixed(n * len as usize),
            item => Skip::Array(len, Box::new(item)),
        },
        other => other,
    }
}

fn advance(input: &mut &[u8], n: usize) -> Option<()> {
    *input = input.get(n..)?;
    Some(())
}

fn skip(plan: &Skip, input: &mut &[u8]) -> Option<()> {
    match plan {
        Skip::Fixed(n) => advance(input, *n),
        Skip::Compact => Compact::<u128>::decode(input).ok().map(drop),
        Skip::Seq(item) => {
            let len = Compact::<u32>::decode(input).ok()?.0 as usize;
            match **item {
                Skip::Fixed(n) => advance(input, n.checked_mul(len)?),
                ref item => (0..len).try_for_each(|_| skip(item, input)),
            }
        }
        Skip::Array(len, item) => (0..*len).try_for_each(|_| skip(item, input)),
        Skip::All(parts) => parts.iter().try_for_each(|p| skip(p, input)),
        Skip::Variant(variants) => {
            let (index, rest) = input.split_first()?;
            *input = rest;
            skip(variants.get(index)?, input)
        }
    }
}

/// One runtime's plan: how to step over the fields of each of its events.
#[derive(Debug)]
pub struct EventPlan {
    events: HashMap<(u8, u8), Skip>,
    /// `Contracts::ContractEmitted`, when its fields are `(AccountId32, Vec<u8>)`.
    contract_emitted: Option<(u8, u8)>,
}

impl EventPlan {
    /// The plan for a runtime, or `None` when one of its events has a type this reader
    /// has no plan for (subxt reads that runtime).
    pub fn new(metadata: &Metadata) -> Option<Self> {
        let types = metadata.types();
        let mut events = HashMap::new();
        let mut contract_emitted = None;
        for pallet in metadata.pallets() {
            let Some(variants) = pallet.event_variants() else {
                continue;
            };
            for variant in variants {
                let fields = simplify(Skip::All(
                    variant
                        .fields
                        .iter()
                        .map(|f| compile(types, f.ty.id, 0))
                        .collect::<Option<Vec<_>>>()?,
                ));
                let key = (pallet.index(), variant.index);
                let emitted_layout =
                    Skip::All(vec![Skip::Fixed(32), Skip::Seq(Box::new(Skip::Fixed(1)))]);
                if pallet.name() == "Contracts"
                    && variant.name == "ContractEmitted"
                    && fields == emitted_layout
                {
                    contract_emitted = Some(key);
                }
                events.insert(key, fields);
            }
        }
        Some(EventPlan {
            events,
            contract_emitted,
        })
    }

    /// A block's contract events from the storage value of `System::Events`, or `None`
    /// when any record cannot be cut with certainty.
    pub fn read(&self, bytes: &[u8]) -> Option<Vec<ContractEvent>> {
        let emitted = self.contract_emitted?;
        let input = &mut &*bytes;
        if input.is_empty() {
            return Some(Vec::new());
        }
        let count = Compact::<u32>::decode(input).ok()?.0;
        let mut found = Vec::new();
        for event_index in 0..count {
            // Phase: ApplyExtrinsic(u32), Finalization, Initialization.
            let extrinsic_index = match input.split_first()? {
                (0, rest) => {
                    *input = rest;
                    Some(u32::decode(input).ok()?)
                }
                (1 | 2, rest) => {
                    *input = rest;
                    None
                }
                _ => return None,
            };
            let (&pallet, rest) = input.split_first()?;
            let (&variant, rest) = rest.split_first()?;
            *input = rest;
            if (pallet, variant) == emitted {
                let contract = <[u8; 32]>::decode(input).ok()?;
                let data = Vec::<u8>::decode(input).ok()?;
                let topics = Vec::<[u8; 32]>::decode(input).ok()?;
                found.push(ContractEvent {
                    contract: AccountId32(contract),
                    topics: topics.into_iter().map(H256).collect(),
                    data,
                    event_index,
                    extrinsic_index,
                });
            } else {
                skip(self.events.get(&(pallet, variant))?, input)?;
                let topics = Compact::<u32>::decode(input).ok()?.0 as usize;
                advance(input, topics.checked_mul(32)?)?;
            }
        }
        input.is_empty().then_some(found)
    }
}
