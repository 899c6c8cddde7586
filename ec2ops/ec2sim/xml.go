package ec2sim

import (
	"encoding/xml"
	"net/http"
	"time"
)

// XML namespaces of the API versions the SDK speaks.
const (
	ec2Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"
	stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"
)

// awsTime formats t the way EC2 and STS do (ISO 8601, UTC, milliseconds).
func awsTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func writeXML(w http.ResponseWriter, requestID string, status int, body any) {
	out, err := xml.Marshal(body)
	if err != nil {
		// Only a programming error in the response types gets here.
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("x-amzn-RequestId", requestID)
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(out)
}

// ec2ErrorResponse is the ec2query error shape.
type ec2ErrorResponse struct {
	XMLName   xml.Name `xml:"Response"`
	Code      string   `xml:"Errors>Error>Code"`
	Message   string   `xml:"Errors>Error>Message"`
	RequestID string   `xml:"RequestID"`
}

func writeEC2Error(w http.ResponseWriter, requestID string, e *apiError) {
	writeXML(w, requestID, e.Status, ec2ErrorResponse{Code: e.Code, Message: e.Message, RequestID: requestID})
}

// stsErrorResponse is the awsquery error shape.
type stsErrorResponse struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Xmlns     string   `xml:"xmlns,attr"`
	Type      string   `xml:"Error>Type"`
	Code      string   `xml:"Error>Code"`
	Message   string   `xml:"Error>Message"`
	RequestID string   `xml:"RequestId"`
}

func writeSTSError(w http.ResponseWriter, requestID string, e *apiError) {
	typ := "Sender"
	if e.Status >= 500 {
		typ = "Receiver"
	}
	writeXML(w, requestID, e.Status, stsErrorResponse{
		Xmlns: stsNamespace, Type: typ, Code: e.Code, Message: e.Message, RequestID: requestID,
	})
}

// EC2 response shapes. Only the fields Charlize and the SDK waiters read
// are filled, plus a few constants that make the output look like AWS's.

type xmlInstanceState struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

func stateXML(name string) xmlInstanceState {
	return xmlInstanceState{Code: stateCodes[name], Name: name}
}

type xmlTag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

type xmlPlacement struct {
	AvailabilityZone string `xml:"availabilityZone"`
	Tenancy          string `xml:"tenancy"`
}

type xmlStateReason struct {
	Code    string `xml:"code"`
	Message string `xml:"message"`
}

type xmlInstance struct {
	InstanceID         string           `xml:"instanceId"`
	ImageID            string           `xml:"imageId"`
	State              xmlInstanceState `xml:"instanceState"`
	PrivateDNSName     string           `xml:"privateDnsName"`
	DNSName            string           `xml:"dnsName"`
	Reason             string           `xml:"reason"`
	InstanceType       string           `xml:"instanceType"`
	LaunchTime         string           `xml:"launchTime"`
	Placement          xmlPlacement     `xml:"placement"`
	Platform           string           `xml:"platform,omitempty"`
	PlatformDetails    string           `xml:"platformDetails"`
	PrivateIPAddress   string           `xml:"privateIpAddress,omitempty"`
	IPAddress          string           `xml:"ipAddress,omitempty"`
	StateReason        *xmlStateReason  `xml:"stateReason,omitempty"`
	Architecture       string           `xml:"architecture"`
	RootDeviceType     string           `xml:"rootDeviceType"`
	VirtualizationType string           `xml:"virtualizationType"`
	Tags               []xmlTag         `xml:"tagSet>item"`
}

type xmlReservation struct {
	ReservationID string        `xml:"reservationId"`
	OwnerID       string        `xml:"ownerId"`
	Instances     []xmlInstance `xml:"instancesSet>item"`
}

type describeInstancesResponse struct {
	XMLName      xml.Name         `xml:"DescribeInstancesResponse"`
	Xmlns        string           `xml:"xmlns,attr"`
	RequestID    string           `xml:"requestId"`
	Reservations []xmlReservation `xml:"reservationSet>item"`
	NextToken    string           `xml:"nextToken,omitempty"`
}

type xmlStateChange struct {
	InstanceID    string           `xml:"instanceId"`
	CurrentState  xmlInstanceState `xml:"currentState"`
	PreviousState xmlInstanceState `xml:"previousState"`
}

// stateChangeResponse is the answer to Start, Stop and TerminateInstances;
// only the element name differs.
type stateChangeResponse struct {
	XMLName   xml.Name
	Xmlns     string           `xml:"xmlns,attr"`
	RequestID string           `xml:"requestId"`
	Changes   []xmlStateChange `xml:"instancesSet>item"`
}

// returnResponse is the answer to actions that return only a boolean.
type returnResponse struct {
	XMLName   xml.Name
	Xmlns     string `xml:"xmlns,attr"`
	RequestID string `xml:"requestId"`
	Return    bool   `xml:"return"`
}

type xmlBoolValue struct {
	Value bool `xml:"value"`
}

type xmlStringValue struct {
	Value string `xml:"value"`
}

type describeInstanceAttributeResponse struct {
	XMLName               xml.Name        `xml:"DescribeInstanceAttributeResponse"`
	Xmlns                 string          `xml:"xmlns,attr"`
	RequestID             string          `xml:"requestId"`
	InstanceID            string          `xml:"instanceId"`
	DisableAPITermination *xmlBoolValue   `xml:"disableApiTermination,omitempty"`
	DisableAPIStop        *xmlBoolValue   `xml:"disableApiStop,omitempty"`
	InstanceType          *xmlStringValue `xml:"instanceType,omitempty"`
}

type xmlRegion struct {
	RegionName     string `xml:"regionName"`
	RegionEndpoint string `xml:"regionEndpoint"`
	OptInStatus    string `xml:"optInStatus"`
}

type describeRegionsResponse struct {
	XMLName   xml.Name    `xml:"DescribeRegionsResponse"`
	Xmlns     string      `xml:"xmlns,attr"`
	RequestID string      `xml:"requestId"`
	Regions   []xmlRegion `xml:"regionInfo>item"`
}

// STS response shapes.

type xmlResponseMetadata struct {
	RequestID string `xml:"RequestId"`
}

type assumeRoleResponse struct {
	XMLName xml.Name `xml:"AssumeRoleResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Result  struct {
		AssumedRoleUser struct {
			Arn           string `xml:"Arn"`
			AssumedRoleID string `xml:"AssumedRoleId"`
		} `xml:"AssumedRoleUser"`
		Credentials struct {
			AccessKeyID     string `xml:"AccessKeyId"`
			SecretAccessKey string `xml:"SecretAccessKey"`
			SessionToken    string `xml:"SessionToken"`
			Expiration      string `xml:"Expiration"`
		} `xml:"Credentials"`
		SourceIdentity string `xml:"SourceIdentity,omitempty"`
	} `xml:"AssumeRoleResult"`
	Metadata xmlResponseMetadata `xml:"ResponseMetadata"`
}

type getCallerIdentityResponse struct {
	XMLName xml.Name `xml:"GetCallerIdentityResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Result  struct {
		Arn     string `xml:"Arn"`
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
	} `xml:"GetCallerIdentityResult"`
	Metadata xmlResponseMetadata `xml:"ResponseMetadata"`
}
