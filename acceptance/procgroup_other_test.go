//go:build !unix

package acceptance

import "os/exec"

func ownProcessGroup(*exec.Cmd)  {}
func killProcessGroup(*exec.Cmd) {}
