// The stack-file oracle: each file named on the command line read with the Pulumi CLI's own code
// (workspace.LoadProjectStackBytes of the Pulumi SDK the live tier's CLI is built from, project "raydask"),
// printed as one JSON line per file: {"<key>": {"value": ..., "secret": ..., "object": ...}} or {"error": ...}.
// tests/test_stackfile.py compares raydask.offline.stackfile.load with what it printed for tests/data/stackfile-pulumi.json:
//
//	cd tests/data/stackfile-oracle && GOFLAGS=-mod=mod go build -o /tmp/stackfile-oracle .
//	.venv/bin/python -m tests.test_stackfile --write /tmp/stackfile-oracle
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/common/encoding"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
)

func main() {
	for _, path := range os.Args[1:] {
		fmt.Println(read(path))
	}
}

func read(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return errorLine(err)
	}
	project := &workspace.Project{Name: tokens.PackageName("raydask")}
	stack, err := workspace.LoadProjectStackBytes(nil, project, b, path, encoding.YAML)
	if err != nil {
		return errorLine(err)
	}
	out := map[string]any{}
	for key, value := range stack.Config {
		text, _ := value.Value(config.NopDecrypter)
		out[key.String()] = map[string]any{"value": text, "secret": value.Secure(), "object": value.Object()}
	}
	line, err := json.Marshal(out)
	if err != nil {
		return errorLine(err)
	}
	return string(line)
}

func errorLine(err error) string {
	line, _ := json.Marshal(map[string]any{"error": err.Error()})
	return string(line)
}
