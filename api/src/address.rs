//! One account or contract address type for the whole API: parsed once at the edge (SS58
//! or 0x hex, in a path, a query or a body), stored as PostgreSQL `bytea`, shown as SS58.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::{Decode, Encode, Postgres, Type};

use crate::error::ApiError;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Address(pub [u8; 32]);

impl Address {
    /// Parses an address from the outside; a bad one is a 400 `bad_address`.
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        text.parse()
            .map_err(|e: String| ApiError::bad_request("bad_address", e))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn account(&self) -> subxt::utils::AccountId32 {
        subxt::utils::AccountId32(self.0)
    }
}

impl FromStr for Address {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        dreamster_client::parse_address(text).map(|a| Address(a.0))
    }
}

impl From<[u8; 32]> for Address {
    fn from(bytes: [u8; 32]) -> Self {
        Address(bytes)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&dreamster_client::ss58(&self.0))
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for Address {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type as SchemaType};
        ObjectBuilder::new()
            .schema_type(SchemaType::String)
            .description(Some("An account or contract: SS58 (or 0x hex on input)"))
            .examples(["5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"])
            .into()
    }
}

impl utoipa::ToSchema for Address {}

impl Type<Postgres> for Address {
    fn type_info() -> PgTypeInfo {
        <Vec<u8> as Type<Postgres>>::type_info()
    }
}

impl<'r> Decode<'r, Postgres> for Address {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        let bytes = <&[u8] as Decode<Postgres>>::decode(value)?;
        Ok(Address(<[u8; 32]>::try_from(bytes).map_err(|_| {
            format!("an address is 32 bytes, the column holds {}", bytes.len())
        })?))
    }
}

impl<'q> Encode<'q, Postgres> for Address {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <&[u8] as Encode<Postgres>>::encode(self.0.as_slice(), buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ss58_and_hex_in_ss58_out() {
        let alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
        let a: Address = alice.parse().expect("ss58");
        let hex = format!("0x{}", hex::encode(a.0));
        let b: Address = serde_json::from_value(serde_json::json!(hex)).expect("hex");
        assert_eq!(a, b);
        assert_eq!(
            serde_json::to_value(b).expect("json"),
            serde_json::json!(alice)
        );
        assert_eq!(
            Address::parse("robert');--").map_err(|e| e.code).err(),
            Some("bad_address")
        );
    }
}
