package golang

// Version is the go plugin's version, reported in serverInfo and sdk.Info.
const Version = "0.1.0"
