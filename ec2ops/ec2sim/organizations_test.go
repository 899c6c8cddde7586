package ec2sim_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/smithy-go"

	"github.com/charlize-app/charlize/ec2ops/ec2sim"
)

// orgEnv is an organization of 25 accounts managed by the default
// (ambient) account, with two OUs.
func orgEnv(t *testing.T) (*env, *organizations.Client) {
	t.Helper()
	f := ec2sim.Generate(25, 1, 1)
	ec2sim.Organize(&f, ec2sim.DefaultAccountID,
		func(i int, _ string) string { return fmt.Sprintf("acct-%02d", i) },
		func(i int, _ string) string {
			switch {
			case i < 5:
				return "/Prod/Web"
			case i < 10:
				return "/Prod"
			}
			return ""
		})
	f.Organization.Accounts[24].State = "SUSPENDED"
	e := mustStart(t, ec2sim.Options{}, f)
	return e, organizations.NewFromConfig(e.baseConfig("us-east-1"))
}

func TestOrganizationsListAccounts(t *testing.T) {
	e, client := orgEnv(t)
	ctx := context.Background()
	p := organizations.NewListAccountsPaginator(client, &organizations.ListAccountsInput{MaxResults: aws.Int32(10)})
	var got []orgtypes.Account
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListAccounts = %v", err)
		}
		got = append(got, page.Accounts...)
	}
	// 25 generated accounts and the management account, in three pages.
	if len(got) != 26 || e.sim.Calls("ListAccounts") != 3 {
		t.Fatalf("ListAccounts = %d accounts in %d calls, want 26 in 3", len(got), e.sim.Calls("ListAccounts"))
	}
	a := got[0]
	if aws.ToString(a.Id) != "000000000000" || aws.ToString(a.Name) != "management" || a.State != orgtypes.AccountStateActive ||
		a.Status != orgtypes.AccountStatusActive || a.JoinedTimestamp == nil || a.JoinedTimestamp.IsZero() {
		t.Errorf("first account = %+v, want the management account, active, with a join time", a)
	}
	if s := got[25].State; s != orgtypes.AccountStateSuspended {
		t.Errorf("last account state = %s, want SUSPENDED", s)
	}

	_, err := client.ListAccounts(ctx, &organizations.ListAccountsInput{MaxResults: aws.Int32(21)})
	if code := apiCode(err); code != "InvalidInputException" {
		t.Errorf("ListAccounts(MaxResults 21) = %v, want InvalidInputException", err)
	}
	first, err := client.ListOrganizationalUnitsForParent(ctx, &organizations.ListOrganizationalUnitsForParentInput{
		ParentId: aws.String(mustRoot(t, client)), MaxResults: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.ListAccounts(ctx, &organizations.ListAccountsInput{NextToken: first.NextToken})
	if code := apiCode(err); first.NextToken != nil && code != "InvalidInputException" {
		t.Errorf("ListAccounts(another call's NextToken) = %v, want InvalidInputException", err)
	}
}

func mustRoot(t *testing.T, client *organizations.Client) string {
	t.Helper()
	out, err := client.ListRoots(context.Background(), &organizations.ListRootsInput{})
	if err != nil || len(out.Roots) != 1 {
		t.Fatalf("ListRoots = %+v, %v; want one root", out, err)
	}
	return aws.ToString(out.Roots[0].Id)
}

func TestOrganizationsTree(t *testing.T) {
	_, client := orgEnv(t)
	ctx := context.Background()
	children := func(parent string) (ous map[string]string, accounts int) {
		ous = map[string]string{}
		out, err := client.ListOrganizationalUnitsForParent(ctx, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(parent)})
		if err != nil {
			t.Fatalf("ListOrganizationalUnitsForParent(%s) = %v", parent, err)
		}
		for _, ou := range out.OrganizationalUnits {
			ous[aws.ToString(ou.Name)] = aws.ToString(ou.Id)
		}
		accts, err := client.ListAccountsForParent(ctx, &organizations.ListAccountsForParentInput{ParentId: aws.String(parent)})
		if err != nil {
			t.Fatalf("ListAccountsForParent(%s) = %v", parent, err)
		}
		return ous, len(accts.Accounts)
	}
	root := mustRoot(t, client)
	ous, n := children(root)
	if len(ous) != 1 || ous["Prod"] == "" || n != 16 {
		t.Fatalf("root = OUs %v and %d accounts, want Prod and 16 (15 + management)", ous, n)
	}
	prod, n := children(ous["Prod"])
	if len(prod) != 1 || prod["Web"] == "" || n != 5 {
		t.Fatalf("/Prod = OUs %v and %d accounts, want Web and 5", prod, n)
	}
	if web, n := children(prod["Web"]); len(web) != 0 || n != 5 {
		t.Errorf("/Prod/Web = OUs %v and %d accounts, want none and 5", web, n)
	}
	_, err := client.ListAccountsForParent(ctx, &organizations.ListAccountsForParentInput{ParentId: aws.String("ou-zzzz-00000000")})
	if code := apiCode(err); code != "ParentNotFoundException" {
		t.Errorf("ListAccountsForParent(unknown) = %v, want ParentNotFoundException", err)
	}
}

func TestOrganizationsOnlyTheManagementAccount(t *testing.T) {
	e, _ := orgEnv(t)
	member := ec2sim.Generate(1, 1, 1).Accounts[0].ID
	client := organizations.NewFromConfig(e.assumedConfig("us-east-1", roleARN(member), nil))
	_, err := client.ListAccounts(context.Background(), &organizations.ListAccountsInput{})
	if code := apiCode(err); code != "AccessDeniedException" {
		t.Errorf("ListAccounts from a member account = %v, want AccessDeniedException", err)
	}
	bare := ec2sim.New(ec2sim.Options{})
	client = organizations.NewFromConfig((&env{url: startServer(t, bare)}).baseConfig("us-east-1"))
	_, err = client.ListAccounts(context.Background(), &organizations.ListAccountsInput{})
	if code := apiCode(err); code != "AWSOrganizationsNotInUseException" {
		t.Errorf("ListAccounts without an organization = %v, want AWSOrganizationsNotInUseException", err)
	}
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
