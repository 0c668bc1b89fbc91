//! Server-rendered HTML, one file per page or shared part. Pure: strings in, strings out; every
//! interpolated value is escaped. The editors themselves are the bundled client in `web/`.

mod admin;
mod expiry;
mod home;
mod lang;
mod layout;
mod open;
mod privacy;
mod problem;
mod refusal;
mod shell;
mod strings;
#[cfg(test)]
mod testutil;

pub use admin::admin;
pub use expiry::{expiry_note, lifetime_label, Retention};
pub use home::{home, import_section, Creation};
pub use lang::Lang;
pub use layout::AssetUrls;
pub use open::{bad_name, name_rule, open_missing};
pub use privacy::{privacy, PrivacyFacts};
pub use problem::{error, problem_page, ErrorKind, Problem};
pub use refusal::creation_closed;
pub use shell::{editor, PadShell};
pub use strings::catalogue;
