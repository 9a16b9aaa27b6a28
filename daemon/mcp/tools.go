package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"runtime/debug"

	"github.com/google/jsonschema-go/jsonschema"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"gent/daemon/auth"
	"gent/models"
)

// Tool is one entry of the MCP tool table: name, the scope a token needs
// (none: any agent token), annotations, the audit action of a mutating
// tool (the matching REST route's name) and the handler. Like the API's
// route table, the table is data, so tests can enumerate it.
type Tool struct {
	Name        string
	Scope       string
	Annotations *sdk.ToolAnnotations
	// Action is the audit action recorded for a mutating tool ("" for
	// tools that change nothing).
	Action      string
	Title       string
	Description string

	add func(s *Server, t *sdk.Tool)
}

func (t Tool) allowed(p *auth.Principal) bool {
	return t.add != nil && p != nil && p.Kind == auth.KindToken && (t.Scope == "" || p.HasScope(t.Scope))
}

// Tools lists every tool. Names and arguments are part of the contract
// (DESIGN.md section 9). No tool approves, rejects, releases quarantine or
// reads policy: those stay with humans.
func (s *Server) Tools() []Tool {
	return []Tool{
		tool("whoami", "", reads(false), "", s.whoami),

		tool("list_messages", models.ScopeEmailRead, reads(false), "", s.listMessages),
		tool("search_messages", models.ScopeEmailRead, reads(false), "", s.searchMessages),
		tool("get_message", models.ScopeEmailRead, reads(false), "", s.getMessage),
		tool("list_threads", models.ScopeEmailRead, reads(false), "", s.listThreads),
		tool("get_thread", models.ScopeEmailRead, reads(false), "", s.getThread),
		tool("wait_for_message", models.ScopeEmailRead, reads(true), "", s.waitForMessage),

		tool("get_attachment", models.ScopeFilesRead, reads(false), "", s.getAttachment),

		tool("send_message", models.ScopeEmailSend, sends(), "messages.send", s.sendMessage),
		tool("reply_to_message", models.ScopeEmailSend, sends(), "messages.reply", s.replyToMessage),
		tool("forward_message", models.ScopeEmailSend, sends(), "messages.forward", s.forwardMessage),
		tool("simulate_send", models.ScopeEmailSend, reads(false), "", s.simulateSend),
		tool("get_send_status", models.ScopeEmailSend, reads(false), "", s.getSendStatus),

		tool("update_message", models.ScopeEmailWrite, updates(), "messages.update", s.updateMessage),

		tool("list_contacts", models.ScopeContactsRead, reads(false), "", s.listContacts),
	}
}

func ptr[T any](v T) *T { return &v }

// reads annotates a tool that changes nothing; openWorld for one that
// waits on the outside world (new mail).
func reads(openWorld bool) *sdk.ToolAnnotations {
	return &sdk.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true, DestructiveHint: ptr(false), OpenWorldHint: ptr(openWorld)}
}

// sends annotates a tool that sends mail to the outside world: not
// destructive (nothing is lost), not idempotent (calling twice sends
// twice, unless an idempotency key is given).
func sends() *sdk.ToolAnnotations {
	return &sdk.ToolAnnotations{DestructiveHint: ptr(false), OpenWorldHint: ptr(true)}
}

// updates annotates a reversible change of the inbox's own state.
func updates() *sdk.ToolAnnotations {
	return &sdk.ToolAnnotations{DestructiveHint: ptr(false), IdempotentHint: true, OpenWorldHint: ptr(false)}
}

// targeted inputs name the object a call acts on (for the audit trail).
type targeted interface{ target() string }

// tool builds a table entry whose arguments are In (the input schema is
// inferred from it). The handler runs only for an agent token holding
// scope; refusals become tool errors with the REST error code, and
// mutating tools are audited as the token, via mcp.
func tool[In any](name, scope string, ann *sdk.ToolAnnotations, action string,
	h func(ctx context.Context, r *Request, in In) (*result, error)) Tool {
	d := docs[name]
	t := Tool{Name: name, Scope: scope, Annotations: ann, Action: action, Title: d.title, Description: d.description}
	if ann != nil {
		a := *ann
		a.Title = d.title
		t.Annotations = &a
	}
	t.add = func(s *Server, st *sdk.Tool) {
		// The schema the SDK would infer from In, as JSON: the SDK
		// validates arguments with it as before, and what it marshals on
		// every call (tools/list, and the x-mcp-header check of each call
		// on the 2026-07-28 protocol) is then these bytes, not a
		// *jsonschema.Schema walked anew.
		schema, err := jsonschema.ForType(reflect.TypeFor[In](), &jsonschema.ForOptions{})
		if err != nil {
			panic(fmt.Sprintf("mcp: input schema of %s: %v", name, err))
		}
		raw, err := json.Marshal(schema)
		if err != nil {
			panic(fmt.Sprintf("mcp: input schema of %s: %v", name, err))
		}
		st.InputSchema = json.RawMessage(raw)
		sdk.AddTool(s.sdk, st, func(ctx context.Context, req *sdk.CallToolRequest, in In) (res0 *sdk.CallToolResult, _ any, _ error) {
			// The SDK runs calls on goroutines of its own, out of reach of
			// the API's panic recovery.
			defer func() {
				if v := recover(); v != nil {
					s.d.Log.Error("panic in mcp tool", "tool", name, "panic", v, "stack", string(debug.Stack()))
					res0 = s.errorResult(name, models.Errorf(models.CodeInternal, "internal error"))
				}
			}()
			r := requestOf(req)
			if r == nil {
				return s.errorResult(name, models.Errorf(models.CodeUnauthorized, "this endpoint takes an agent token")), nil, nil
			}
			if scope != "" && !r.Principal.HasScope(scope) {
				return s.errorResult(name, scopeError(scope)), nil, nil
			}
			res, err := h(ctx, r, in)
			if action != "" {
				target := ""
				if res != nil && res.target != "" {
					target = res.target
				} else if tg, ok := any(in).(targeted); ok {
					target = tg.target()
				}
				s.d.Guard.Audit(ctx, *r, action, target, err, map[string]any{"via": "mcp", "tool": name})
			}
			if err != nil {
				return s.errorResult(name, err), nil, nil
			}
			return res.call(), nil, nil
		})
	}
	return t
}
