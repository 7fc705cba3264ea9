// Package layers holds no code, only a test that every import arrow
// between frontier's packages points down: from the command through the
// front door, the built-in components and the plugin host, the job
// directory and the framework, to the registry. DESIGN.md draws the same
// layers; the test fails, naming the arrow, when a change points one up.
package layers
