package pulumirun

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"sort"
	"strconv"

	"github.com/portico-dev/portico/internal/pulumiyaml"
)

// The account and region a program sees are pulumiyaml's.
const (
	account      = pulumiyaml.Account
	region       = pulumiyaml.Region
	organization = "organization"
)

// invoke answers the data sources programs commonly call before they
// register anything: who am I, where am I, and IAM policy documents.
func invoke(tok string, args map[string]any) (map[string]any, error) {
	switch tok {
	case "aws:index/getCallerIdentity:getCallerIdentity":
		return map[string]any{"accountId": account, "arn": "arn:aws:iam::" + account + ":root", "userId": account, "id": account}, nil
	case "aws:index/getRegion:getRegion":
		return map[string]any{"name": region, "id": region, "region": region, "description": "US East (N. Virginia)", "endpoint": "ec2." + region + ".amazonaws.com"}, nil
	case "aws:index/getPartition:getPartition":
		return map[string]any{"partition": "aws", "id": "aws", "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws"}, nil
	case "aws:iam/getPolicyDocument:getPolicyDocument":
		return policyDocument(args)
	}
	return nil, fmt.Errorf("data source not supported by Portico (supported: aws.GetCallerIdentity, aws.GetRegion, aws.GetPartition, iam.GetPolicyDocument)")
}

// statement is one IAM policy statement, its fields in the order the AWS
// provider writes them.
type statement struct {
	Sid          string         `json:"Sid,omitempty"`
	Effect       string         `json:"Effect"`
	Action       any            `json:"Action,omitempty"`
	NotAction    any            `json:"NotAction,omitempty"`
	Resource     any            `json:"Resource,omitempty"`
	NotResource  any            `json:"NotResource,omitempty"`
	Principal    any            `json:"Principal,omitempty"`
	NotPrincipal any            `json:"NotPrincipal,omitempty"`
	Condition    map[string]any `json:"Condition,omitempty"`
}

type policy struct {
	Version   string      `json:"Version"`
	ID        string      `json:"Id,omitempty"`
	Statement []statement `json:"Statement"`
}

// policyDocument is iam.GetPolicyDocument: the policy JSON for the given
// statements. As the AWS provider does, a list of one value is written
// as the value, and principals are grouped by type.
func policyDocument(args map[string]any) (map[string]any, error) {
	p := policy{Version: "2012-10-17"}
	if v, ok := args["version"].(string); ok && v != "" {
		p.Version = v
	}
	p.ID, _ = args["policyId"].(string)
	stmts, _ := args["statements"].([]any)
	for i, s := range stmts {
		m, ok := s.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("statements[%d]: want an object", i)
		}
		st := statement{Effect: "Allow", Action: one(m["actions"]), NotAction: one(m["notActions"]),
			Resource: one(m["resources"]), NotResource: one(m["notResources"]),
			Principal: principals(m["principals"]), NotPrincipal: principals(m["notPrincipals"])}
		st.Sid, _ = m["sid"].(string)
		if e, ok := m["effect"].(string); ok && e != "" {
			st.Effect = e
		}
		conds, _ := m["conditions"].([]any)
		for _, c := range conds {
			cm, _ := c.(map[string]any)
			test, _ := cm["test"].(string)
			variable, _ := cm["variable"].(string)
			if st.Condition == nil {
				st.Condition = map[string]any{}
			}
			byVar, _ := st.Condition[test].(map[string]any)
			if byVar == nil {
				byVar = map[string]any{}
				st.Condition[test] = byVar
			}
			byVar[variable] = one(cm["values"])
		}
		p.Statement = append(p.Statement, st)
	}
	pretty, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, err
	}
	minified, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"json": string(pretty), "minifiedJson": string(minified), "id": strconv.FormatUint(uint64(crc32.ChecksumIEEE(minified)), 10)}
	for k, v := range args {
		out[k] = v
	}
	return out, nil
}

// one writes a list of one value as the value, and nothing for none.
func one(v any) any {
	l, ok := v.([]any)
	switch {
	case !ok || len(l) == 0:
		return nil
	case len(l) == 1:
		return l[0]
	}
	return l
}

func principals(v any) any {
	l, _ := v.([]any)
	if len(l) == 0 {
		return nil
	}
	byType := map[string][]any{}
	for _, p := range l {
		m, _ := p.(map[string]any)
		t, _ := m["type"].(string)
		ids, _ := m["identifiers"].([]any)
		byType[t] = append(byType[t], ids...)
	}
	if ids, ok := byType["*"]; ok && len(byType) == 1 {
		return one(ids)
	}
	out := make(map[string]any, len(byType))
	types := make([]string, 0, len(byType))
	for t := range byType {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		out[t] = one(byType[t])
	}
	return out
}
