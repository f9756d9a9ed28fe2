// `sqlx::migrate!` embeds the migrations at compile time; without this, a migration added
// with no other change to the crate would not be compiled in (sqlx's documented build script).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
