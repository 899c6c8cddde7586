package ec2sim

import (
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// CloudWatch speaks the protocol aws-sdk-go-v2's cloudwatch client sends
// today: Smithy RPC v2 CBOR (POST /service/GraniteServiceVersion20100801/
// operation/<Name>, CBOR bodies, timestamps as tag 1 epoch seconds), in its
// awsQuery-compatible flavour (error codes also in X-Amzn-Query-Error).
// Only GetMetricData is simulated, for the AWS/EC2 metrics of instances;
// series are computed from the instance id and the clock, so the same
// question always gets the same answer.

// cloudWatchService is the SigV4 signing name of CloudWatch.
const cloudWatchService = "monitoring"

// maxMetricBody bounds a GetMetricData request body.
const maxMetricBody = 1 << 20

// decodeCBORRequest reads an RPC v2 CBOR request into req.
func decodeCBORRequest(hr *http.Request, req *request) *apiError {
	if hr.Method != http.MethodPost || !strings.HasPrefix(hr.URL.Path, "/service/") {
		return errorf(http.StatusNotFound, "UnknownOperationException", "The requested operation is not supported.")
	}
	req.action = path.Base(hr.URL.Path)
	body, err := io.ReadAll(io.LimitReader(hr.Body, maxMetricBody))
	if err != nil {
		return errorf(http.StatusBadRequest, "SerializationException", "%v", err)
	}
	req.body = cbor.Map{}
	if len(body) == 0 {
		return nil
	}
	v, err := cbor.Decode(body)
	if err != nil {
		return errorf(http.StatusBadRequest, "SerializationException", "Could not decode the request body: %v", err)
	}
	m, ok := v.(cbor.Map)
	if !ok {
		return errorf(http.StatusBadRequest, "SerializationException", "The request body must be a CBOR map.")
	}
	req.body = m
	return nil
}

// writeCBOR answers a CloudWatch request.
func writeCBOR(w http.ResponseWriter, requestID string, status int, body cbor.Value) {
	w.Header().Set("Content-Type", "application/cbor")
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("x-amzn-RequestId", requestID)
	w.WriteHeader(status)
	_, _ = w.Write(cbor.Encode(body))
}

func writeCBORError(w http.ResponseWriter, requestID string, e *apiError) {
	fault := "Sender"
	if e.Status >= 500 {
		fault = "Receiver"
	}
	w.Header().Set("X-Amzn-Query-Error", e.Code+";"+fault)
	writeCBOR(w, requestID, e.Status, cbor.Map{
		"__type":  cbor.String("com.amazonaws.cloudwatch#" + e.Code),
		"message": cbor.String(e.Message),
	})
}

func (s *Sim) serveCloudWatch(req *request, call Call) (cbor.Value, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.admitLocked(req, call); err != nil {
		return nil, err
	}
	switch req.action {
	case "GetMetricData":
		return s.getMetricDataLocked(req, call.Account)
	}
	return nil, errorf(http.StatusBadRequest, "UnknownOperationException", "The operation %s is not simulated.", req.action)
}

// metricQuery is one MetricDataQueries entry with a MetricStat.
type metricQuery struct {
	id, namespace, name, stat, instanceID string
	period                                time.Duration
}

func (s *Sim) getMetricDataLocked(req *request, acct string) (cbor.Value, *apiError) {
	start, okStart := cborTime(req.body["StartTime"])
	end, okEnd := cborTime(req.body["EndTime"])
	if !okStart || !okEnd {
		return nil, errorf(http.StatusBadRequest, "MissingParameter", "The parameters StartTime and EndTime are required.")
	}
	if !end.After(start) {
		return nil, errorf(http.StatusBadRequest, "ValidationError", "The parameter StartTime must be less than the parameter EndTime.")
	}
	queries, qerr := metricQueries(req.body["MetricDataQueries"])
	if qerr != nil {
		return nil, qerr
	}
	ascending := cborString(req.body["ScanBy"]) == "TimestampAscending"
	var results cbor.List
	for _, q := range queries {
		var r *record
		if q.namespace == "AWS/EC2" && q.instanceID != "" {
			r = s.recordLocked(acct, req.region, q.instanceID)
		}
		var points []metricPoint
		if r != nil {
			r.settle(req.now, s.transition)
			points = seriesOf(r, q, start, end, req.now)
		}
		if !ascending {
			slices.Reverse(points)
		}
		ts, vs := cbor.List{}, cbor.List{}
		for _, p := range points {
			ts = append(ts, cbor.Tag{ID: 1, Value: cbor.Float64(float64(p.t.Unix()))})
			vs = append(vs, cbor.Float64(p.v))
		}
		results = append(results, cbor.Map{
			"Id": cbor.String(q.id), "Label": cbor.String(q.name),
			"Timestamps": ts, "Values": vs, "StatusCode": cbor.String("Complete"),
		})
	}
	return cbor.Map{"MetricDataResults": results, "Messages": cbor.List{}}, nil
}

func metricQueries(v cbor.Value) ([]metricQuery, *apiError) {
	list, ok := v.(cbor.List)
	if !ok || len(list) == 0 {
		return nil, errorf(http.StatusBadRequest, "MissingParameter", "The parameter MetricDataQueries is required.")
	}
	var out []metricQuery
	for i, item := range list {
		m, _ := item.(cbor.Map)
		q := metricQuery{id: cborString(m["Id"])}
		if q.id == "" {
			return nil, errorf(http.StatusBadRequest, "ValidationError", "MetricDataQueries[%d].Id is required.", i)
		}
		stat, _ := m["MetricStat"].(cbor.Map)
		if stat == nil {
			return nil, errorf(http.StatusBadRequest, "ValidationError", "The simulator supports MetricStat queries only (query %s).", q.id)
		}
		metric, _ := stat["Metric"].(cbor.Map)
		q.namespace, q.name, q.stat = cborString(metric["Namespace"]), cborString(metric["MetricName"]), cborString(stat["Stat"])
		period, _ := cborInt(stat["Period"])
		if period < 1 || (period >= 60 && period%60 != 0) {
			return nil, errorf(http.StatusBadRequest, "InvalidParameterValue", "The parameter MetricDataQueries.member.%d.MetricStat.Period must be a multiple of 60.", i+1)
		}
		q.period = time.Duration(period) * time.Second
		dims, _ := metric["Dimensions"].(cbor.List)
		for _, d := range dims {
			dm, _ := d.(cbor.Map)
			if cborString(dm["Name"]) == "InstanceId" {
				q.instanceID = cborString(dm["Value"])
			}
		}
		out = append(out, q)
	}
	return out, nil
}

// metricInstanceIDs are the instances a GetMetricData request asks about.
func metricInstanceIDs(body cbor.Map) []string {
	qs, _ := metricQueries(body["MetricDataQueries"])
	var ids []string
	for _, q := range qs {
		if q.instanceID != "" && !slices.Contains(ids, q.instanceID) {
			ids = append(ids, q.instanceID)
		}
	}
	return ids
}

type metricPoint struct {
	t time.Time
	v float64
}

// seriesOf computes q's datapoints in [start, end): one per period while the
// instance ran (since its launch, until now or until a stop ended its run;
// none for an instance loaded stopped), as basic monitoring reports them,
// a period after the period closes.
func seriesOf(r *record, q metricQuery, start, end, now time.Time) []metricPoint {
	from := r.inst.LaunchTime
	until := now
	switch r.inst.State {
	case StatePending:
		return nil
	case StateStopping, StateStopped, StateShuttingDown, StateTerminated:
		until = r.stoppedAt
	}
	until = until.Add(-q.period) // the latest period that has closed
	var out []metricPoint
	for t := start.Truncate(q.period); t.Before(end); t = t.Add(q.period) {
		if t.Before(start) || t.Before(from) || t.After(until) {
			continue
		}
		v, ok := metricValue(r.inst.ID, q.name, t, q.period)
		if !ok {
			return nil
		}
		out = append(out, metricPoint{t: t.UTC(), v: v})
	}
	return out
}

// metricValue is the deterministic value of an EC2 metric: CPU wanders
// around a level of the instance's own, in a daily rhythm with noise;
// network traffic follows CPU; status checks pass.
func metricValue(id, name string, t time.Time, period time.Duration) (float64, bool) {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	seed := h.Sum64()
	level := 5 + float64(seed%45)
	day := math.Sin(2 * math.Pi * float64(t.Unix()%86400) / 86400)
	nh := fnv.New64a()
	_, _ = fmt.Fprintf(nh, "%s/%d", id, t.Unix())
	noise := float64(nh.Sum64()%1000)/1000 - 0.5
	cpu := math.Max(0.5, math.Min(99.5, level+level*0.4*day+12*noise))
	switch name {
	case "CPUUtilization":
		return math.Round(cpu*100) / 100, true
	case "NetworkIn":
		return math.Round(cpu * 2e4 * period.Seconds()), true
	case "NetworkOut":
		return math.Round(cpu * 1.3e4 * period.Seconds()), true
	case "StatusCheckFailed", "StatusCheckFailed_Instance", "StatusCheckFailed_System":
		return 0, true
	}
	return 0, false
}

func cborString(v cbor.Value) string {
	s, _ := v.(cbor.String)
	return string(s)
}

func cborInt(v cbor.Value) (int64, bool) {
	switch n := v.(type) {
	case cbor.Uint:
		return int64(n), true
	case cbor.NegInt:
		return -int64(n), true
	case cbor.Float64:
		return int64(n), true
	case cbor.Float32:
		return int64(n), true
	}
	return 0, false
}

// cborTime reads a timestamp (tag 1: epoch seconds, integer or float).
func cborTime(v cbor.Value) (time.Time, bool) {
	var tag cbor.Tag
	switch t := v.(type) {
	case *cbor.Tag: // what cbor.Decode yields
		tag = *t
	case cbor.Tag:
		tag = t
	}
	if tag.ID != 1 || tag.Value == nil {
		return time.Time{}, false
	}
	switch n := tag.Value.(type) {
	case cbor.Float64:
		return time.UnixMilli(int64(float64(n) * 1e3)).UTC(), true
	case cbor.Float32:
		return time.UnixMilli(int64(float64(n) * 1e3)).UTC(), true
	}
	if secs, ok := cborInt(tag.Value); ok {
		return time.Unix(secs, 0).UTC(), true
	}
	return time.Time{}, false
}
