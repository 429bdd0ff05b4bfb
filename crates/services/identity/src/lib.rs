//! The identity service: who you are (auth) and where you belong (user).

pub mod domain;
