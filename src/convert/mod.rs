//! Document files in and out, without any IO of their own: pad exports (`pad`) and calc
//! imports and exports (`calc`).

pub mod calc;
pub mod escape;
pub mod pad;
