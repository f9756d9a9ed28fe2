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

/// Compiles plans for the types of one registry, each type once.
struct Compiler<'a> {
    types: &'a PortableRegistry,
    done: HashMap<u32, Option<Skip>>,
    /// The types being compiled: meeting one again is a recursive type, which gets no plan.
    path: Vec<u32>,
}

impl Compiler<'_> {
    fn compile(&mut self, id: u32) -> Option<Skip> {
        if let Some(done) = self.done.get(&id) {
            return done.clone();
        }
        if self.path.contains(&id) {
            return None;
        }
        self.path.push(id);
        let plan = self.compile_new(id);
        self.path.pop();
        self.done.insert(id, plan.clone());
        plan
    }

    fn all(&mut self, ids: Vec<u32>) -> Option<Skip> {
        let parts = ids
            .into_iter()
            .map(|id| self.compile(id))
            .collect::<Option<Vec<_>>>()?;
        Some(simplify(Skip::All(parts)))
    }

    fn compile_new(&mut self, id: u32) -> Option<Skip> {
        let types = self.types;
        Some(match &types.resolve(id)?.type_def {
            TypeDef::Composite(c) => self.all(c.fields.iter().map(|f| f.ty.id).collect())?,
            TypeDef::Tuple(t) => self.all(t.fields.iter().map(|f| f.id).collect())?,
            TypeDef::Variant(v) => Skip::Variant(
                v.variants
                    .iter()
                    .map(|variant| {
                        let fields = variant.fields.iter().map(|f| f.ty.id).collect();
                        Some((variant.index, self.all(fields)?))
                    })
                    .collect::<Option<HashMap<_, _>>>()?,
            ),
            TypeDef::Sequence(s) => Skip::Seq(Box::new(self.compile(s.type_param.id)?)),
            TypeDef::Array(a) => {
                simplify(Skip::Array(a.len, Box::new(self.compile(a.type_param.id)?)))
            }
            TypeDef::Compact(_) => Skip::Compact,
            TypeDef::Primitive(p) => match p {
                TypeDefPrimitive::Bool | TypeDefPrimitive::U8 | TypeDefPrimitive::I8 => {
                    Skip::Fixed(1)
                }
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

/// `Contracts::ContractEmitted` as this indexer reads it: `{ contract: AccountId32, data:
/// Vec<u8> }`. Its (pallet, event) index in a runtime whose metadata says exactly that, by
/// field names and shapes; `None` otherwise, and then such events are not read at all
/// (a changed layout read as the old one could make a contract's data pass for another
/// contract's address).
pub fn known_contract_emitted(metadata: &Metadata) -> Option<(u8, u8)> {
    let pallet = metadata.pallet_by_name("Contracts")?;
    let variant = pallet
        .event_variants()?
        .iter()
        .find(|v| v.name == "ContractEmitted")?;
    let mut compiler = Compiler {
        types: metadata.types(),
        done: HashMap::new(),
        path: Vec::new(),
    };
    let [contract, data] = variant.fields.as_slice() else {
        return None;
    };
    let known = contract.name.as_deref() == Some("contract")
        && data.name.as_deref() == Some("data")
        && compiler.compile(contract.ty.id) == Some(Skip::Fixed(32))
        && compiler.compile(data.ty.id) == Some(Skip::Seq(Box::new(Skip::Fixed(1))));
    known.then_some((pallet.index(), variant.index))
}

/// One runtime's plan: how to step over the fields of each of its events.
#[derive(Debug)]
pub struct EventPlan {
    /// Events with a plan (a recursive type has none: blocks holding one are read by subxt).
    events: HashMap<(u8, u8), Skip>,
    contract_emitted: Option<(u8, u8)>,
}

impl EventPlan {
    /// Whether this runtime's `ContractEmitted` has the layout this indexer reads (see
    /// [`known_contract_emitted`]).
    pub fn reads_contract_emitted(&self) -> bool {
        self.contract_emitted.is_some()
    }

    /// The plan for a runtime.
    pub fn new(metadata: &Metadata) -> Self {
        let mut compiler = Compiler {
            types: metadata.types(),
            done: HashMap::new(),
            path: Vec::new(),
        };
        let mut events = HashMap::new();
        for pallet in metadata.pallets() {
            for variant in pallet.event_variants().unwrap_or_default() {
                let fields = variant.fields.iter().map(|f| f.ty.id).collect();
                if let Some(plan) = compiler.all(fields) {
                    events.insert((pallet.index(), variant.index), plan);
                }
            }
        }
        EventPlan {
            events,
            contract_emitted: known_contract_emitted(metadata),
        }
    }

    /// A block's contract events from the storage value of `System::Events`, or `None`
    /// when any record cannot be cut with certainty.
    /// A runtime whose `ContractEmitted` layout is unknown is always given back: subxt's
    /// reading reports each such event.
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
