//! ADS commands, the index groups that say what a read or write touches, the
//! ADS states of a Write Control, and the operation each makes.
//!
//! A Read, Write or ReadWrite names its target by index group and offset.
//! The groups a PLC runtime and the system service publish (Beckhoff
//! InfoSys, "ADS index groups"; the system service's in the ADS library's
//! `AdsDef.h`) decide both the operation's name and its class: a write to
//! PLC memory, a variable or the output image is a `write`; file writes,
//! a new AMS Net Id, routes and registry values through the system service
//! are `program` and `configuration`; starting a process on the controller
//! is `control`. A group the tables do not name keeps the command's plain
//! name (`read`, `write`, `read_write`) and its class: a ReadWrite to an
//! unknown group writes data, so it is a `write`.

use otposture_model::OperationClass;

/// ADS command ids (Beckhoff InfoSys, "ADS commands").
pub mod id {
    /// Invalid.
    pub const INVALID: u16 = 0;
    /// Read Device Info: name and version of the ADS device.
    pub const READ_DEVICE_INFO: u16 = 1;
    /// Read by index group and offset.
    pub const READ: u16 = 2;
    /// Write by index group and offset.
    pub const WRITE: u16 = 3;
    /// Read the ADS and device state.
    pub const READ_STATE: u16 = 4;
    /// Change the ADS and device state (run, stop, reset, config).
    pub const WRITE_CONTROL: u16 = 5;
    /// Subscribe to a variable.
    pub const ADD_DEVICE_NOTIFICATION: u16 = 6;
    /// End a subscription.
    pub const DELETE_DEVICE_NOTIFICATION: u16 = 7;
    /// Subscribed values, sent by the server unasked.
    pub const DEVICE_NOTIFICATION: u16 = 8;
    /// Write, then read, in one request.
    pub const READ_WRITE: u16 = 9;
}

/// The highest command id.
pub const MAX_COMMAND: u16 = id::READ_WRITE;

/// The command's name.
pub fn command_name(command: u16) -> &'static str {
    match command {
        id::INVALID => "invalid",
        id::READ_DEVICE_INFO => "read_device_info",
        id::READ => "read",
        id::WRITE => "write",
        id::READ_STATE => "read_state",
        id::WRITE_CONTROL => "write_control",
        id::ADD_DEVICE_NOTIFICATION => "add_device_notification",
        id::DELETE_DEVICE_NOTIFICATION => "delete_device_notification",
        id::DEVICE_NOTIFICATION => "device_notification",
        id::READ_WRITE => "read_write",
        _ => "unknown_command",
    }
}

/// ADS states (`ADSSTATE_*`), by number.
pub fn state_name(state: u16) -> Option<&'static str> {
    Some(match state {
        0 => "invalid",
        1 => "idle",
        2 => "reset",
        3 => "init",
        4 => "start",
        5 => "run",
        6 => "stop",
        7 => "save_config",
        8 => "load_config",
        9 => "power_failure",
        10 => "power_good",
        11 => "error",
        12 => "shutdown",
        13 => "suspend",
        14 => "resume",
        15 => "config",
        16 => "reconfig",
        17 => "stopping",
        18 => "incompatible",
        19 => "exception",
        _ => return None,
    })
}

/// What a Write Control asking for `state` does, as an operation name.
fn write_control_name(state: u16) -> &'static str {
    match state {
        2 => "write_control_reset",
        4 => "write_control_start",
        5 => "write_control_run",
        6 => "write_control_stop",
        12 => "write_control_shutdown",
        15 => "write_control_config",
        16 => "write_control_reconfig",
        _ => "write_control",
    }
}

/// What an index group is, in the names of operations on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// PLC memory (%M, retain and data areas: 0x4020-0x404F).
    PlcMemory,
    /// The process image of the inputs (%I: 0xF020, 0xF021, 0xF025).
    Inputs,
    /// The process image of the outputs (%Q: 0xF030, 0xF031, 0xF035).
    Outputs,
    /// A handle for a variable's name (0xF003).
    SymbolHandle,
    /// A variable by name (0xF004).
    SymbolByName,
    /// A variable through its handle (0xF005).
    SymbolByHandle,
    /// Releasing a handle (0xF006).
    ReleaseHandle,
    /// A variable's description (0xF007, 0xF009).
    SymbolInfo,
    /// The symbol table's version (0xF008).
    SymbolVersion,
    /// The symbol table or its data types, or their sizes (0xF00B-0xF00F).
    SymbolUpload,
    /// Several reads (0xF080, 0xF083, 0xF084).
    SumRead,
    /// Several writes (0xF081).
    SumWrite,
    /// Several write-reads (0xF082).
    SumReadWrite,
    /// Several notifications added or deleted (0xF085, 0xF086).
    SumNotification,
    /// The ADS and device state (0xF100).
    DeviceData,
    /// System service: files (100-133, 138, 139).
    File,
    /// System service: the registry (200-205).
    Registry,
    /// System service: the clock (400).
    Time,
    /// System service: starting a process (500).
    StartProcess,
    /// System service: the AMS Net Id (600, 601).
    NetId,
    /// System service: routes to other AMS routers (801-805).
    Route,
    /// System service: target and network information (700-703).
    TargetInfo,
}

impl Target {
    /// The target of `group`. System service groups count only on its port
    /// (`system_service`): PLC runtimes use low groups for their own ends.
    pub fn of(group: u32, system_service: bool) -> Option<Target> {
        Some(match group {
            0x4020..=0x404f => Target::PlcMemory,
            0xf020 | 0xf021 | 0xf025 => Target::Inputs,
            0xf030 | 0xf031 | 0xf035 => Target::Outputs,
            0xf003 => Target::SymbolHandle,
            0xf004 => Target::SymbolByName,
            0xf005 => Target::SymbolByHandle,
            0xf006 => Target::ReleaseHandle,
            0xf007 | 0xf009 => Target::SymbolInfo,
            0xf008 => Target::SymbolVersion,
            0xf00b..=0xf00f => Target::SymbolUpload,
            0xf080 | 0xf083 | 0xf084 => Target::SumRead,
            0xf081 => Target::SumWrite,
            0xf082 => Target::SumReadWrite,
            0xf085 | 0xf086 => Target::SumNotification,
            0xf100 => Target::DeviceData,
            100..=133 | 138 | 139 if system_service => Target::File,
            200..=205 if system_service => Target::Registry,
            400 if system_service => Target::Time,
            500 if system_service => Target::StartProcess,
            600 | 601 if system_service => Target::NetId,
            700..=703 if system_service => Target::TargetInfo,
            801..=805 if system_service => Target::Route,
            _ => return None,
        })
    }
}

/// The AMS port of the TwinCAT system service.
pub const SYSTEM_SERVICE_PORT: u16 = 10000;

/// The operation a request (and its response) makes: command, index group
/// where it has one, the ADS state a Write Control asks for, and the AMS
/// port addressed.
pub fn operation(command: u16, group: Option<u32>, state: Option<u16>, port: u16) -> (&'static str, OperationClass) {
    use OperationClass as C;
    let target = group.and_then(|g| Target::of(g, port == SYSTEM_SERVICE_PORT));
    match command {
        id::READ_DEVICE_INFO => ("read_device_info", C::Discovery),
        id::READ_STATE => ("read_state", C::Diagnostic),
        id::WRITE_CONTROL => (state.map_or("write_control", write_control_name), C::Control),
        id::ADD_DEVICE_NOTIFICATION => ("add_device_notification", C::Read),
        id::DELETE_DEVICE_NOTIFICATION => ("delete_device_notification", C::Session),
        id::DEVICE_NOTIFICATION => ("device_notification", C::Read),
        id::READ => match target {
            Some(Target::PlcMemory) => ("read_plc_memory", C::Read),
            Some(Target::Inputs) => ("read_inputs", C::Read),
            Some(Target::Outputs) => ("read_outputs", C::Read),
            Some(Target::SymbolByName | Target::SymbolByHandle) => ("read_variable", C::Read),
            Some(Target::SymbolInfo | Target::SymbolVersion | Target::SymbolUpload) => ("read_symbol_table", C::Read),
            Some(Target::SumRead) => ("sum_read", C::Read),
            Some(Target::DeviceData) => ("read_device_state", C::Diagnostic),
            Some(Target::File) => ("file_read", C::Read),
            Some(Target::Registry) => ("registry_read", C::Read),
            Some(Target::Time) => ("read_time", C::Read),
            Some(Target::NetId | Target::TargetInfo) => ("read_target_info", C::Discovery),
            Some(Target::Route) => ("read_routes", C::Read),
            _ => ("read", C::Read),
        },
        id::WRITE => match target {
            Some(Target::PlcMemory) => ("write_plc_memory", C::Write),
            Some(Target::Inputs) => ("write_inputs", C::Write),
            Some(Target::Outputs) => ("write_outputs", C::Write),
            Some(Target::SymbolByName | Target::SymbolByHandle) => ("write_variable", C::Write),
            Some(Target::ReleaseHandle) => ("release_handle", C::Session),
            Some(Target::SumWrite | Target::SumReadWrite) => ("sum_write", C::Write),
            Some(Target::DeviceData) => ("write_device_state", C::Control),
            Some(Target::File) => ("file_write", C::Program),
            Some(Target::Registry) => ("registry_write", C::Configuration),
            Some(Target::Time) => ("set_time", C::Configuration),
            Some(Target::StartProcess) => ("start_process", C::Control),
            Some(Target::NetId) => ("change_net_id", C::Configuration),
            Some(Target::Route) => ("change_route", C::Configuration),
            _ => ("write", C::Write),
        },
        id::READ_WRITE => match target {
            Some(Target::SymbolHandle) => ("get_handle_by_name", C::Read),
            Some(Target::SymbolInfo | Target::SymbolVersion | Target::SymbolUpload) => ("read_symbol_table", C::Read),
            Some(Target::SymbolByName | Target::SymbolByHandle) => ("read_variable", C::Read),
            Some(Target::SumRead) => ("sum_read", C::Read),
            Some(Target::SumWrite | Target::SumReadWrite) => ("sum_write", C::Write),
            Some(Target::SumNotification) => ("sum_notification", C::Read),
            Some(Target::ReleaseHandle) => ("release_handle", C::Session),
            // The file services open, read and close through ReadWrite; a
            // file opened for writing is written with Write.
            Some(Target::File) => ("file_access", C::Read),
            Some(Target::Registry) => ("registry_read", C::Read),
            Some(Target::NetId | Target::TargetInfo) => ("read_target_info", C::Discovery),
            Some(Target::Route) => ("change_route", C::Configuration),
            Some(Target::StartProcess) => ("start_process", C::Control),
            _ => ("read_write", C::Write),
        },
        id::INVALID => ("invalid", C::Unknown),
        _ => ("unknown_command", C::Unknown),
    }
}
