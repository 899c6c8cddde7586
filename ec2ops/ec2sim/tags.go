package ec2sim

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
)

// tagParams reads Tag.N.Key / Tag.N.Value as the EC2 Query protocol sends
// them; hasValue says whether Tag.N.Value was sent at all (DeleteTags
// deletes a key whatever its value unless one is given).
func tagParams(req *request) (keys, values []string, hasValue []bool) {
	for i := 1; ; i++ {
		prefix := fmt.Sprintf("Tag.%d", i)
		k, ok := req.form[prefix+".Key"]
		if !ok || len(k) == 0 {
			return keys, values, hasValue
		}
		v, has := req.form[prefix+".Value"]
		keys = append(keys, k[0])
		if has && len(v) > 0 {
			values, hasValue = append(values, v[0]), append(hasValue, true)
		} else {
			values, hasValue = append(values, ""), append(hasValue, false)
		}
	}
}

// taggedRecords looks up the instances of ResourceId.N; EC2 refuses the
// whole request when one is unknown.
func (s *Sim) taggedRecords(req *request, acct string) ([]*record, *apiError) {
	ids := req.list("ResourceId")
	if len(ids) == 0 {
		return nil, errorf(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter resourceIdSet")
	}
	for _, id := range ids {
		if !strings.HasPrefix(id, "i-") {
			return nil, errorf(http.StatusBadRequest, "InvalidID", "The ID '%s' is not valid (the simulator tags instances only)", id)
		}
	}
	return s.lookupLocked(acct, req.region, ids, req.now)
}

func (s *Sim) createTags(req *request, acct string) (any, *apiError) {
	rs, err := s.taggedRecords(req, acct)
	if err != nil {
		return nil, err
	}
	keys, values, _ := tagParams(req)
	if len(keys) == 0 {
		return nil, errorf(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter Tag")
	}
	for _, k := range keys {
		if k == "" || len(k) > 128 || strings.HasPrefix(strings.ToLower(k), "aws:") {
			return nil, errorf(http.StatusBadRequest, "InvalidParameterValue", "Tag key '%s' is not valid", k)
		}
	}
	if err := dryRun(req); err != nil {
		return nil, err
	}
	for _, r := range rs {
		if len(r.inst.Tags)+len(keys) > 50 {
			return nil, errorf(http.StatusBadRequest, "TagLimitExceeded", "The maximum number of Tags for a resource has been reached.")
		}
	}
	for _, r := range rs {
		for i, k := range keys {
			r.inst.Tags[k] = values[i]
		}
	}
	return returnResponse{XMLName: xml.Name{Local: "CreateTagsResponse"}, Xmlns: ec2Namespace, RequestID: req.id, Return: true}, nil
}

func (s *Sim) deleteTags(req *request, acct string) (any, *apiError) {
	rs, err := s.taggedRecords(req, acct)
	if err != nil {
		return nil, err
	}
	keys, values, hasValue := tagParams(req)
	if err := dryRun(req); err != nil {
		return nil, err
	}
	for _, r := range rs {
		if len(keys) == 0 {
			// Without tags, EC2 deletes every tag but the aws: ones.
			for k := range r.inst.Tags {
				if !strings.HasPrefix(k, "aws:") {
					delete(r.inst.Tags, k)
				}
			}
			continue
		}
		for i, k := range keys {
			if v, ok := r.inst.Tags[k]; ok && (!hasValue[i] || v == values[i]) {
				delete(r.inst.Tags, k)
			}
		}
	}
	return returnResponse{XMLName: xml.Name{Local: "DeleteTagsResponse"}, Xmlns: ec2Namespace, RequestID: req.id, Return: true}, nil
}
