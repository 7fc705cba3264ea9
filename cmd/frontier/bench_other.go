//go:build !unix

package main

// writeBack does nothing where there is no sync(2).
func writeBack() {}
