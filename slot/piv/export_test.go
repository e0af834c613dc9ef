package piv

// CmdName names a command as the benchmark's traces do (cmdName), for the tests of
// package piv_test that drive the driver through the module.
var CmdName = cmdName
