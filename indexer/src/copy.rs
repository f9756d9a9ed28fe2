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

    fn finish(mut self) -> Vec<u8> {
        self.buf.extend_from_slice(&(-1i16).to_be_bytes());
        std::mem::take(&mut *self.buf)
    }
}

impl Default for CopyBuffer {
    fn default() -> Self {
        Self::new()
    }
}

/// Inserts `rows` into their table with one binary `COPY`.
pub async fn copy_in<R: Row>(db: &mut PgConnection, rows: &[R]) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut out = CopyBuffer::new();
    for row in rows {
        row.encode(&mut out).map_err(sqlx::Error::Encode)?;
    }
    let mut copy = db
        .copy_in_raw(&format!(
            "COPY {} ({}) FROM STDIN (FORMAT binary)",
            R::TABLE,
            R::COLUMNS.join(", ")
        ))
        .await?;
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
