//! The C types of `<wfe/engine.h>`, ABI 1.1, as the host and plugins lay
//! them out. Keep in step with the header; the guard of the header
//! (tests/abi/abi-guard) freezes each released layout.
#![allow(missing_docs)]

use std::ffi::{c_char, c_void};

pub const ABI_MAJOR: u16 = 1;
pub const ABI_MINOR: u16 = 1;

pub const WFE_OK: i32 = 0;
pub const WFE_E_INVALID: i32 = -1;
pub const WFE_E_UNSUPPORTED: i32 = -2;
pub const WFE_E_NOMEM: i32 = -3;
pub const WFE_E_UNAVAILABLE: i32 = -4;
pub const WFE_E_NOT_FOUND: i32 = -5;
pub const WFE_E_INTERNAL: i32 = -6;

/// Opaque host buffer.
#[repr(C)]
pub struct Buf {
    _private: [u8; 0],
}

/// Opaque host error record.
#[repr(C)]
pub struct ErrorRecord {
    _private: [u8; 0],
}

#[repr(C)]
pub struct Host {
    pub struct_size: u32,
    pub abi_major: u16,
    pub abi_minor: u16,
    pub host_data: *mut c_void,
    pub log: Option<unsafe extern "C" fn(*const Host, i32, *const c_char, *const c_char)>,
    pub buf_append: Option<unsafe extern "C" fn(*mut Buf, *const c_char, usize) -> i32>,
    pub error_set: Option<
        unsafe extern "C" fn(
            *mut ErrorRecord,
            i32,
            i32,
            *const c_char,
            *const c_char,
            *const c_char,
        ),
    >,
    pub get_object: Option<
        unsafe extern "C" fn(
            *const Host,
            *const c_char,
            *const c_char,
            *const c_char,
            *const c_char,
            *mut Buf,
            *mut ErrorRecord,
        ) -> i32,
    >,
    pub sha256_hex: Option<unsafe extern "C" fn(*const c_void, usize, *mut c_char)>,
    pub buf_new: Option<unsafe extern "C" fn() -> *mut Buf>,
    pub buf_data: Option<unsafe extern "C" fn(*const Buf, *mut usize) -> *const c_char>,
    pub buf_free: Option<unsafe extern "C" fn(*mut Buf)>,
    // ABI 1.1: present when struct_size covers it.
    pub list_objects: Option<
        unsafe extern "C" fn(
            *const Host,
            *const c_char,
            *const c_char,
            *const c_char,
            *const c_char,
            *const c_char,
            *mut Buf,
            *mut ErrorRecord,
        ) -> i32,
    >,
}

#[repr(C)]
pub struct RunType {
    pub struct_size: u32,
    pub api_version: *const c_char,
    pub kind: *const c_char,
    pub resource: *const c_char,
    pub has_status_subresource: i32,
}

pub type CreateFn = unsafe extern "C" fn(
    *const Host,
    *const c_char,
    usize,
    *mut *mut c_void,
    *mut ErrorRecord,
) -> i32;
pub type DestroyFn = unsafe extern "C" fn(*mut c_void);
pub type ValidateFn =
    unsafe extern "C" fn(*mut c_void, *const c_char, usize, *mut ErrorRecord) -> i32;
pub type CallFn =
    unsafe extern "C" fn(*mut c_void, *const c_char, usize, *mut Buf, *mut ErrorRecord) -> i32;
pub type DescribeFn = unsafe extern "C" fn(*mut c_void, *mut Buf, *mut ErrorRecord) -> i32;
pub type ExtensionFn = unsafe extern "C" fn(*mut c_void, *const c_char) -> *const c_void;

#[repr(C)]
pub struct Engine {
    pub struct_size: u32,
    pub name: *const c_char,
    pub version: *const c_char,
    pub description: *const c_char,
    pub run_type: *const RunType,
    pub create: Option<CreateFn>,
    pub destroy: Option<DestroyFn>,
    pub validate: Option<ValidateFn>,
    pub render: Option<CallFn>,
    pub interpret: Option<CallFn>,
    pub cancel: Option<CallFn>,
    pub describe: Option<DescribeFn>,
    pub get_extension: Option<ExtensionFn>,
}

#[repr(C)]
pub struct Plugin {
    pub struct_size: u32,
    pub abi_major: u16,
    pub abi_minor: u16,
    pub name: *const c_char,
    pub version: *const c_char,
    pub init: Option<unsafe extern "C" fn(*const Host, *mut ErrorRecord) -> i32>,
    pub fini: Option<unsafe extern "C" fn()>,
    pub engine_count: usize,
    pub engines: *const *const Engine,
}

// The descriptors are immutable statics read by the host from any thread.
unsafe impl Sync for RunType {}
unsafe impl Sync for Engine {}
unsafe impl Sync for Plugin {}

/// The one-engine list a plugin points at.
#[repr(transparent)]
pub struct EngineList(pub [*const Engine; 1]);
unsafe impl Sync for EngineList {}
