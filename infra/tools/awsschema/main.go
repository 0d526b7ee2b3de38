// Command awsschema is a schema-only stand-in for the hashicorp/aws provider,
// for offline checks: it answers GetProviderSchema from a schema.json file
// written by extract.js (next to the binary, or named by AWSSCHEMA_FILE), so
// that `tofu validate` can check argument names, types, required arguments
// and references, and `tofu test` with mock_provider can plan. It talks to
// no AWS API: every call that would need one (plan, apply, read, import)
// fails with an error saying so.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tfprotov5/tf5server"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// schemaFile mirrors the JSON that extract.js writes.
type schemaFile struct {
	Provider        schemaJSON            `json:"provider"`
	ResourceSchemas map[string]schemaJSON `json:"resource_schemas"`
	DataSources     map[string]schemaJSON `json:"data_source_schemas"`
}

type schemaJSON struct {
	Version int64     `json:"version"`
	Block   blockJSON `json:"block"`
}

type blockJSON struct {
	Attributes map[string]attrJSON      `json:"attributes"`
	BlockTypes map[string]blockTypeJSON `json:"block_types"`
}

type attrJSON struct {
	Type     json.RawMessage `json:"type"`
	Required bool            `json:"required"`
	Optional bool            `json:"optional"`
	Computed bool            `json:"computed"`
}

type blockTypeJSON struct {
	Nesting  string    `json:"nesting"`
	Block    blockJSON `json:"block"`
	MinItems int64     `json:"min_items"`
	MaxItems int64     `json:"max_items"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "awsschema:", err)
		os.Exit(1)
	}
}

func run() error {
	path := os.Getenv("AWSSCHEMA_FILE")
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find executable: %w", err)
		}
		path = filepath.Join(filepath.Dir(exe), "schema.json")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read schema: %w", err)
	}
	var f schemaFile
	if err := json.Unmarshal(raw, &f); err != nil {
		return fmt.Errorf("parse schema %s: %w", path, err)
	}
	s, err := newServer(f)
	if err != nil {
		return err
	}
	return tf5server.Serve("registry.opentofu.org/hashicorp/aws", func() tfprotov5.ProviderServer { return s })
}

type server struct {
	schema *tfprotov5.GetProviderSchemaResponse
}

var _ tfprotov5.ProviderServer = (*server)(nil)

func newServer(f schemaFile) (*server, error) {
	resp := &tfprotov5.GetProviderSchemaResponse{
		ServerCapabilities:       &tfprotov5.ServerCapabilities{PlanDestroy: true},
		ResourceSchemas:          map[string]*tfprotov5.Schema{},
		DataSourceSchemas:        map[string]*tfprotov5.Schema{},
		Functions:                map[string]*tfprotov5.Function{},
		EphemeralResourceSchemas: map[string]*tfprotov5.Schema{},
		ListResourceSchemas:      map[string]*tfprotov5.Schema{},
		ActionSchemas:            map[string]*tfprotov5.ActionSchema{},
	}
	var err error
	if resp.Provider, err = toSchema(f.Provider); err != nil {
		return nil, fmt.Errorf("provider: %w", err)
	}
	for name, s := range f.ResourceSchemas {
		if resp.ResourceSchemas[name], err = toSchema(s); err != nil {
			return nil, fmt.Errorf("resource %s: %w", name, err)
		}
	}
	for name, s := range f.DataSources {
		if resp.DataSourceSchemas[name], err = toSchema(s); err != nil {
			return nil, fmt.Errorf("data source %s: %w", name, err)
		}
	}
	return &server{schema: resp}, nil
}

func toSchema(s schemaJSON) (*tfprotov5.Schema, error) {
	b, err := toBlock(s.Block)
	if err != nil {
		return nil, err
	}
	return &tfprotov5.Schema{Version: s.Version, Block: b}, nil
}

func toBlock(b blockJSON) (*tfprotov5.SchemaBlock, error) {
	out := &tfprotov5.SchemaBlock{}
	for _, name := range slices.Sorted(maps.Keys(b.Attributes)) {
		a := b.Attributes[name]
		t, err := parseType(a.Type)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", name, err)
		}
		out.Attributes = append(out.Attributes, &tfprotov5.SchemaAttribute{
			Name: name, Type: t, Required: a.Required, Optional: a.Optional, Computed: a.Computed,
		})
	}
	for _, name := range slices.Sorted(maps.Keys(b.BlockTypes)) {
		bt := b.BlockTypes[name]
		inner, err := toBlock(bt.Block)
		if err != nil {
			return nil, fmt.Errorf("block %s: %w", name, err)
		}
		nb := &tfprotov5.SchemaNestedBlock{TypeName: name, Block: inner, MinItems: bt.MinItems, MaxItems: bt.MaxItems}
		switch bt.Nesting {
		case "single":
			nb.Nesting = tfprotov5.SchemaNestedBlockNestingModeSingle
		case "list":
			nb.Nesting = tfprotov5.SchemaNestedBlockNestingModeList
		case "set":
			nb.Nesting = tfprotov5.SchemaNestedBlockNestingModeSet
		case "map":
			nb.Nesting = tfprotov5.SchemaNestedBlockNestingModeMap
		default:
			return nil, fmt.Errorf("block %s: unknown nesting %q", name, bt.Nesting)
		}
		out.BlockTypes = append(out.BlockTypes, nb)
	}
	return out, nil
}

// parseType reads a type in Terraform's JSON notation: "string", "number",
// "bool", "dynamic", ["list"|"set"|"map", T], ["object", {name: T}].
func parseType(raw json.RawMessage) (tftypes.Type, error) {
	var prim string
	if err := json.Unmarshal(raw, &prim); err == nil {
		switch prim {
		case "string":
			return tftypes.String, nil
		case "number":
			return tftypes.Number, nil
		case "bool":
			return tftypes.Bool, nil
		case "dynamic":
			return tftypes.DynamicPseudoType, nil
		}
		return nil, fmt.Errorf("unknown primitive type %q", prim)
	}
	var pair []json.RawMessage
	if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 {
		return nil, fmt.Errorf("bad type %s", raw)
	}
	var kind string
	if err := json.Unmarshal(pair[0], &kind); err != nil {
		return nil, fmt.Errorf("bad type kind %s", pair[0])
	}
	if kind == "object" {
		var attrs map[string]json.RawMessage
		if err := json.Unmarshal(pair[1], &attrs); err != nil {
			return nil, fmt.Errorf("bad object type %s", pair[1])
		}
		obj := tftypes.Object{AttributeTypes: map[string]tftypes.Type{}}
		for n, at := range attrs {
			t, err := parseType(at)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", n, err)
			}
			obj.AttributeTypes[n] = t
		}
		return obj, nil
	}
	elem, err := parseType(pair[1])
	if err != nil {
		return nil, err
	}
	switch kind {
	case "list":
		return tftypes.List{ElementType: elem}, nil
	case "set":
		return tftypes.Set{ElementType: elem}, nil
	case "map":
		return tftypes.Map{ElementType: elem}, nil
	}
	return nil, fmt.Errorf("unknown type kind %q", kind)
}

// unsupported is the answer to every call that would need AWS.
func unsupported(call string) []*tfprotov5.Diagnostic {
	return []*tfprotov5.Diagnostic{{
		Severity: tfprotov5.DiagnosticSeverityError,
		Summary:  "schema-only stand-in provider",
		Detail:   call + " needs the real hashicorp/aws provider; this stand-in only serves schemas (use mock_provider in tofu test).",
	}}
}

func (s *server) GetMetadata(context.Context, *tfprotov5.GetMetadataRequest) (*tfprotov5.GetMetadataResponse, error) {
	resp := &tfprotov5.GetMetadataResponse{ServerCapabilities: s.schema.ServerCapabilities}
	for _, n := range slices.Sorted(maps.Keys(s.schema.ResourceSchemas)) {
		resp.Resources = append(resp.Resources, tfprotov5.ResourceMetadata{TypeName: n})
	}
	for _, n := range slices.Sorted(maps.Keys(s.schema.DataSourceSchemas)) {
		resp.DataSources = append(resp.DataSources, tfprotov5.DataSourceMetadata{TypeName: n})
	}
	return resp, nil
}

func (s *server) GetProviderSchema(context.Context, *tfprotov5.GetProviderSchemaRequest) (*tfprotov5.GetProviderSchemaResponse, error) {
	return s.schema, nil
}

func (s *server) GetResourceIdentitySchemas(context.Context, *tfprotov5.GetResourceIdentitySchemasRequest) (*tfprotov5.GetResourceIdentitySchemasResponse, error) {
	return &tfprotov5.GetResourceIdentitySchemasResponse{IdentitySchemas: map[string]*tfprotov5.ResourceIdentitySchema{}}, nil
}

func (s *server) PrepareProviderConfig(_ context.Context, req *tfprotov5.PrepareProviderConfigRequest) (*tfprotov5.PrepareProviderConfigResponse, error) {
	return &tfprotov5.PrepareProviderConfigResponse{PreparedConfig: req.Config}, nil
}

func (s *server) ConfigureProvider(context.Context, *tfprotov5.ConfigureProviderRequest) (*tfprotov5.ConfigureProviderResponse, error) {
	return &tfprotov5.ConfigureProviderResponse{}, nil
}

func (s *server) StopProvider(context.Context, *tfprotov5.StopProviderRequest) (*tfprotov5.StopProviderResponse, error) {
	return &tfprotov5.StopProviderResponse{}, nil
}

func (s *server) ValidateResourceTypeConfig(context.Context, *tfprotov5.ValidateResourceTypeConfigRequest) (*tfprotov5.ValidateResourceTypeConfigResponse, error) {
	return &tfprotov5.ValidateResourceTypeConfigResponse{}, nil
}

func (s *server) ValidateDataSourceConfig(context.Context, *tfprotov5.ValidateDataSourceConfigRequest) (*tfprotov5.ValidateDataSourceConfigResponse, error) {
	return &tfprotov5.ValidateDataSourceConfigResponse{}, nil
}

func (s *server) UpgradeResourceState(_ context.Context, req *tfprotov5.UpgradeResourceStateRequest) (*tfprotov5.UpgradeResourceStateResponse, error) {
	return &tfprotov5.UpgradeResourceStateResponse{Diagnostics: unsupported("UpgradeResourceState " + req.TypeName)}, nil
}

func (s *server) ReadResource(_ context.Context, req *tfprotov5.ReadResourceRequest) (*tfprotov5.ReadResourceResponse, error) {
	return &tfprotov5.ReadResourceResponse{Diagnostics: unsupported("ReadResource " + req.TypeName)}, nil
}

func (s *server) PlanResourceChange(_ context.Context, req *tfprotov5.PlanResourceChangeRequest) (*tfprotov5.PlanResourceChangeResponse, error) {
	return &tfprotov5.PlanResourceChangeResponse{Diagnostics: unsupported("PlanResourceChange " + req.TypeName)}, nil
}

func (s *server) ApplyResourceChange(_ context.Context, req *tfprotov5.ApplyResourceChangeRequest) (*tfprotov5.ApplyResourceChangeResponse, error) {
	return &tfprotov5.ApplyResourceChangeResponse{Diagnostics: unsupported("ApplyResourceChange " + req.TypeName)}, nil
}

func (s *server) ImportResourceState(_ context.Context, req *tfprotov5.ImportResourceStateRequest) (*tfprotov5.ImportResourceStateResponse, error) {
	return &tfprotov5.ImportResourceStateResponse{Diagnostics: unsupported("ImportResourceState " + req.TypeName)}, nil
}

func (s *server) MoveResourceState(_ context.Context, req *tfprotov5.MoveResourceStateRequest) (*tfprotov5.MoveResourceStateResponse, error) {
	return &tfprotov5.MoveResourceStateResponse{Diagnostics: unsupported("MoveResourceState " + req.TargetTypeName)}, nil
}

func (s *server) UpgradeResourceIdentity(_ context.Context, req *tfprotov5.UpgradeResourceIdentityRequest) (*tfprotov5.UpgradeResourceIdentityResponse, error) {
	return &tfprotov5.UpgradeResourceIdentityResponse{Diagnostics: unsupported("UpgradeResourceIdentity " + req.TypeName)}, nil
}

func (s *server) GenerateResourceConfig(_ context.Context, req *tfprotov5.GenerateResourceConfigRequest) (*tfprotov5.GenerateResourceConfigResponse, error) {
	return &tfprotov5.GenerateResourceConfigResponse{Diagnostics: unsupported("GenerateResourceConfig " + req.TypeName)}, nil
}

func (s *server) ReadDataSource(_ context.Context, req *tfprotov5.ReadDataSourceRequest) (*tfprotov5.ReadDataSourceResponse, error) {
	return &tfprotov5.ReadDataSourceResponse{Diagnostics: unsupported("ReadDataSource " + req.TypeName)}, nil
}

func (s *server) CallFunction(_ context.Context, req *tfprotov5.CallFunctionRequest) (*tfprotov5.CallFunctionResponse, error) {
	return &tfprotov5.CallFunctionResponse{Error: &tfprotov5.FunctionError{Text: "stand-in provider has no function " + req.Name}}, nil
}

func (s *server) GetFunctions(context.Context, *tfprotov5.GetFunctionsRequest) (*tfprotov5.GetFunctionsResponse, error) {
	return &tfprotov5.GetFunctionsResponse{Functions: map[string]*tfprotov5.Function{}}, nil
}

func (s *server) ValidateEphemeralResourceConfig(context.Context, *tfprotov5.ValidateEphemeralResourceConfigRequest) (*tfprotov5.ValidateEphemeralResourceConfigResponse, error) {
	return &tfprotov5.ValidateEphemeralResourceConfigResponse{}, nil
}

func (s *server) OpenEphemeralResource(_ context.Context, req *tfprotov5.OpenEphemeralResourceRequest) (*tfprotov5.OpenEphemeralResourceResponse, error) {
	return &tfprotov5.OpenEphemeralResourceResponse{Diagnostics: unsupported("OpenEphemeralResource " + req.TypeName)}, nil
}

func (s *server) RenewEphemeralResource(_ context.Context, req *tfprotov5.RenewEphemeralResourceRequest) (*tfprotov5.RenewEphemeralResourceResponse, error) {
	return &tfprotov5.RenewEphemeralResourceResponse{Diagnostics: unsupported("RenewEphemeralResource " + req.TypeName)}, nil
}

func (s *server) CloseEphemeralResource(_ context.Context, req *tfprotov5.CloseEphemeralResourceRequest) (*tfprotov5.CloseEphemeralResourceResponse, error) {
	return &tfprotov5.CloseEphemeralResourceResponse{Diagnostics: unsupported("CloseEphemeralResource " + req.TypeName)}, nil
}
