package ec2ops

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TagRequest sets or removes tags on one instance.
type TagRequest struct {
	Account, Region, InstanceID string
	// Actor names the Slack user; the call runs under an AssumeRole session
	// named after them, as actions do.
	Actor string
	Tags  map[string]string // CreateTags: key → value
	Keys  []string          // DeleteTags: the keys to remove
}

// CreateTags sets req.Tags on the instance (ec2:CreateTags) and returns the
// instance as it now is. An instance outside the account's managed-tag
// scope is not found; the managed tag itself cannot be changed.
func (f *Fleet) CreateTags(ctx context.Context, req TagRequest) (Instance, error) {
	return f.tag(ctx, "ec2ops.CreateTags", req, func(c *ec2.Client, id string, opt func(*ec2.Options)) error {
		var tags []types.Tag
		for _, k := range slices.Sorted(maps.Keys(req.Tags)) {
			tags = append(tags, types.Tag{Key: aws.String(k), Value: aws.String(req.Tags[k])})
		}
		_, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: tags}, opt)
		return err
	})
}

// DeleteTags removes req.Keys from the instance (ec2:DeleteTags).
func (f *Fleet) DeleteTags(ctx context.Context, req TagRequest) (Instance, error) {
	return f.tag(ctx, "ec2ops.DeleteTags", req, func(c *ec2.Client, id string, opt func(*ec2.Options)) error {
		var tags []types.Tag
		for _, k := range req.Keys {
			tags = append(tags, types.Tag{Key: aws.String(k)})
		}
		_, err := c.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{id}, Tags: tags}, opt)
		return err
	})
}

func (f *Fleet) tag(ctx context.Context, op string, req TagRequest, call func(*ec2.Client, string, func(*ec2.Options)) error) (Instance, error) {
	a, terr := f.target(op, req.Account, req.Region, req.InstanceID)
	if terr != nil {
		return Instance{}, terr
	}
	if strings.TrimSpace(req.Actor) == "" || (len(req.Tags) == 0 && len(req.Keys) == 0) {
		return Instance{}, &Error{Kind: KindInvalidRequest, Op: op, Account: req.Account, Region: req.Region, InstanceID: req.InstanceID,
			Err: errors.New("a tag change needs the acting user and at least one tag")}
	}
	if scope := a.ManagedTag; scope != nil {
		if _, ok := req.Tags[scope.Key]; ok || slices.Contains(req.Keys, scope.Key) {
			return Instance{}, &Error{Kind: KindInvalidRequest, Op: op, Account: a.Name, Region: req.Region, InstanceID: req.InstanceID,
				Err: errors.New("the managed tag " + scope.Key + " is not changed through Charlize")}
		}
	}
	d, err := f.describe(ctx, op, a, req.Region, req.InstanceID)
	if err != nil {
		return Instance{}, err
	}
	asActor := func(o *ec2.Options) {
		if a.actors != nil {
			o.Credentials = a.actors.get(sessionName(req.Actor))
		}
	}
	if err := call(a.ec2[req.Region], req.InstanceID, asActor); err != nil {
		e := f.awsErr(op, a, req.Region, req.InstanceID, err)
		e.Name = d.Name
		return Instance{}, e
	}
	inst := d.Instance
	inst.Tags = maps.Clone(inst.Tags)
	maps.Copy(inst.Tags, req.Tags)
	for _, k := range req.Keys {
		delete(inst.Tags, k)
	}
	return inst, nil
}
