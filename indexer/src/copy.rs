//! Rows declared once, written two ways: PostgreSQL's binary `COPY` for the rows a batch
//! inserts, and `UNNEST` of one array per column for the rows it merges into existing
//! ones. [`rows!`] declares a row struct and generates both from the one field list,
//! so a column cannot be forgotten in one place and shift the others.
//!
//! Every value is encoded by sqlx's own `Encode` for the column's type, the same bytes
//! sqlx sends as a query parameter; a field whose Rust type does not match its column
//! is refused by PostgreSQL with the column's name.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgArguments, PgConnection, PgHasArrayType, PgTypeInfo};
use sqlx::query::Query;
use sqlx::types::BigDecimal;
use sqlx::{Encode, Postgres, Type};

/// A row of one table, declared with [`rows!`]: written with binary `COPY`.
pub trait Row: Sized {
    /// The table the row goes to (for updates: the table it changes).
    const TABLE: &'static str;
    /// Its columns, in the order of the struct's fields.
    const COLUMNS: &'static [&'static str];

    /// Appends the row as a binary `COPY` tuple.
    fn encode(&self, out: &mut CopyBuffer) -> Result<(), BoxDynError>;
}

/// A row merged into existing ones, declared `merge` in [`rows!`]: bound as one array per
/// column (so no column may be an array itself).
pub trait MergeRow: Row {
    /// Binds `rows` as one array per column, in column order.
    fn bind_columns<'q>(
        rows: &[Self],
        query: Query<'q, Postgres, PgArguments>,
    ) -> Query<'q, Postgres, PgArguments>;

    /// Each column's array type, as SQL names it (`INT8[]`).
    fn array_types() -> Vec<PgTypeInfo>;
}

/// Declares row structs whose field names are their table's column names: `insert` rows
/// are written by `COPY`, `merge` rows also by [`merge`].
macro_rules! rows {
    ($(
        $(#[$doc:meta])*
        $kind:ident $row:ident => $table:literal { $( $(#[$fdoc:meta])* $field:ident : $ty:ty ),+ $(,)? }
    )+) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $row { $( $(#[$fdoc])* pub $field: $ty, )+ }

        impl $crate::copy::Row for $row {
            const TABLE: &'static str = $table;
            const COLUMNS: &'static [&'static str] = &[$( stringify!($field) ),+];

            fn encode(&self, out: &mut $crate::copy::CopyBuffer) -> Result<(), sqlx::error::BoxDynError> {
                out.begin_row(Self::COLUMNS.len())?;
                $( out.field(&self.$field)?; )+
                Ok(())
            }
        }

        rows!(@$kind $row { $( $field : $ty ),+ });
    )+};
    (@insert $row:ident { $( $field:ident : $ty:ty ),+ }) => {};
    (@merge $row:ident { $( $field:ident : $ty:ty ),+ }) => {
        impl $crate::copy::MergeRow for $row {
            fn bind_columns<'q>(
                rows: &[Self],
                query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
            ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
                $( let query = query.bind(rows.iter().map(|r| r.$field.clone()).collect::<Vec<$ty>>()); )+
                query
            }

            fn array_types() -> Vec<sqlx::postgres::PgTypeInfo> {
                vec![$( <$ty as sqlx::postgres::PgHasArrayType>::array_type_info() ),+]
            }
        }
    };
}
pub(crate) use rows;

/// A binary `COPY` stream being built: header, tuples, trailer.
pub struct CopyBuffer {
    buf: PgArgumentBuffer,
}

/// "PGCOPY\n\377\r\n\0", no flags, no header extension.
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

impl CopyBuffer {
    pub fn new() -> Self {
        let mut buf = PgArgumentBuffer::default();
        buf.extend_from_slice(HEADER);
        CopyBuffer { buf }
    }

    pub fn begin_row(&mut self, fields: usize) -> Result<(), BoxDynError> {
        self.buf
            .extend_from_slice(&i16::try_from(fields)?.to_be_bytes());
        Ok(())
    }

    /// One field: its length (-1 for NULL), then sqlx's binary encoding of it.
    pub fn field<'q, T: Encode<'q, Postgres>>(&mut self, value: &T) -> Result<(), BoxDynError> {
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        let len = match value.encode_by_ref(&mut self.buf)? {
            IsNull::Yes => -1,
            IsNull::No => i32::try_from(self.buf.len() - at - 4)?,
        };
        self.buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
        Ok(())
    }

    fn len(&self) -> usize {
        self.buf.len()
    }

    /// The bytes so far, leaving the buffer empty for the next ones.
    fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut *self.buf)
    }

    fn finish(mut self) -> Vec<u8> {
        self.buf.extend_from_slice(&(-1i16).to_be_bytes());
        self.take()
    }
}

impl Default for CopyBuffer {
    fn default() -> Self {
        Self::new()
    }
}

/// Bytes encoded before they are sent: PostgreSQL stores one chunk while the next is
/// encoded.
const CHUNK: usize = 256 * 1024;

/// Inserts `rows` into their table with one binary `COPY`.
pub async fn copy_in<R: Row>(db: &mut PgConnection, rows: &[R]) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut copy = db
        .copy_in_raw(&format!(
            "COPY {} ({}) FROM STDIN (FORMAT binary)",
            R::TABLE,
            R::COLUMNS.join(", ")
        ))
        .await?;
    let mut out = CopyBuffer::new();
    for row in rows {
        if let Err(e) = row.encode(&mut out) {
            // Nothing half-written: the COPY is aborted with the reason.
            copy.abort(e.to_string()).await?;
            return Err(sqlx::Error::Encode(e));
        }
        if out.len() >= CHUNK {
            copy.send(out.take()).await?;
        }
    }
    copy.send(out.finish()).await?;
    copy.finish().await.map(drop)
}

/// `UNNEST($first::T1[], …) AS u(col1, …)`: the rows as a relation named `u`, for a
/// statement that merges them (`UPDATE … FROM {source} WHERE …`).
pub fn unnest_source<R: MergeRow>(first: usize) -> String {
    use sqlx::TypeInfo;
    let arrays: Vec<String> = R::array_types()
        .iter()
        .enumerate()
        .map(|(i, t)| format!("${}::{}", first + i, t.name()))
        .collect();
    format!(
        "UNNEST({}) AS u({})",
        arrays.join(", "),
        R::COLUMNS.join(", ")
    )
}

/// Runs `statement` with `rows` bound: its `{source}` is [`unnest_source`], its
/// `{columns}` the row's column list.
pub async fn merge<R: MergeRow>(
    db: &mut PgConnection,
    statement: &str,
    rows: &[R],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let sql = statement
        .replace("{columns}", &R::COLUMNS.join(", "))
        .replace("{source}", &unnest_source::<R>(1));
    R::bind_columns(rows, sqlx::query(&sql))
        .execute(db)
        .await
        .map(drop)
}

/// A NUMERIC(39, 0) of the read model: a balance (any u128) or a signed change of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Numeric {
    Balance(u128),
    Change(i128),
}

impl From<u128> for Numeric {
    fn from(value: u128) -> Self {
        Numeric::Balance(value)
    }
}

impl From<i128> for Numeric {
    fn from(value: i128) -> Self {
        Numeric::Change(value)
    }
}

impl Type<Postgres> for Numeric {
    fn type_info() -> PgTypeInfo {
        <BigDecimal as Type<Postgres>>::type_info()
    }
}

impl PgHasArrayType for Numeric {
    fn array_type_info() -> PgTypeInfo {
        <BigDecimal as PgHasArrayType>::array_type_info()
    }
}

impl Encode<'_, Postgres> for Numeric {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        let value = match *self {
            Numeric::Balance(v) => BigDecimal::from(v),
            Numeric::Change(v) => BigDecimal::from(v),
        };
        <BigDecimal as Encode<Postgres>>::encode_by_ref(&value, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dreamster_test_support::TestDatabase;

    rows! {
        merge Sample => "copy_sample" {
            n: Numeric,
            small: i16,
            big: Option<i64>,
            flag: bool,
            text: String,
            bytes: Option<Vec<u8>>,
        }
    }

    fn samples() -> Vec<Sample> {
        vec![
            Sample {
                n: Numeric::Balance(u128::MAX),
                small: i16::MIN,
                big: Some(i64::MAX),
                flag: true,
                text: "é ☃ \u{1F3B5}".into(),
                bytes: Some(vec![0, 255]),
            },
            Sample {
                n: Numeric::Change(-(i128::MAX)),
                small: 0,
                big: None,
                flag: false,
                text: String::new(),
                bytes: None,
            },
            Sample {
                n: Numeric::Balance(10_000),
                small: 1,
                big: Some(-1),
                flag: true,
                text: "x".repeat(70_000),
                bytes: Some(Vec::new()),
            },
        ]
    }

    /// A row as PostgreSQL stored it, its number as text.
    type Stored = (String, i16, Option<i64>, bool, String, Option<Vec<u8>>);

    /// What PostgreSQL stored, row by row.
    async fn stored(db: &TestDatabase) -> Vec<Stored> {
        sqlx::query_as(
            "SELECT n::text, small, big, flag, text, bytes FROM copy_sample ORDER BY small, n",
        )
        .fetch_all(db.pool())
        .await
        .expect("read back")
    }

    fn expected() -> Vec<Stored> {
        let mut rows: Vec<_> = samples()
            .into_iter()
            .map(|s| {
                let n = match s.n {
                    Numeric::Balance(v) => v.to_string(),
                    Numeric::Change(v) => v.to_string(),
                };
                (n, s.small, s.big, s.flag, s.text, s.bytes)
            })
            .collect();
        rows.sort_by(|a, b| a.1.cmp(&b.1));
        rows
    }

    /// Both ways of writing — `COPY` and the `UNNEST` merge — store every value as given,
    /// at the ends of each type.
    #[tokio::test]
    async fn copy_and_merge_store_values_at_the_ends_of_their_types() {
        let db = TestDatabase::create().await.expect("database");
        let create = "CREATE TABLE copy_sample (n NUMERIC(39, 0), small SMALLINT, big BIGINT,
            flag BOOLEAN, text TEXT, bytes BYTEA)";
        sqlx::query(create).execute(db.pool()).await.expect("table");
        let mut conn = db.pool().acquire().await.expect("connection");
        copy_in(&mut conn, &samples()).await.expect("copy");
        assert_eq!(stored(&db).await, expected());

        sqlx::query("TRUNCATE copy_sample")
            .execute(db.pool())
            .await
            .expect("truncate");
        merge(
            &mut conn,
            "INSERT INTO copy_sample ({columns}) SELECT * FROM {source}",
            &samples(),
        )
        .await
        .expect("merge");
        assert_eq!(stored(&db).await, expected());
    }
}
