package dynamo

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
)

// Environment variables naming endpoints, as the AWS SDKs read them.
const (
	EndpointEnv        = "AWS_ENDPOINT_URL_DYNAMODB"
	StreamsEndpointEnv = "AWS_ENDPOINT_URL_DYNAMODB_STREAMS"
)

// NewClients makes the DynamoDB and DynamoDB Streams clients for cfg, as
// config.LoadDefaultConfig gives it. getenv (os.Getenv) may name a local
// endpoint: AWS_ENDPOINT_URL_DYNAMODB serves both (DynamoDB Local answers
// Streams on its one port), AWS_ENDPOINT_URL_DYNAMODB_STREAMS Streams alone.
// With an endpoint named, response checksums are not checked: DynamoDB Local's
// do not always match its bodies.
func NewClients(cfg aws.Config, getenv func(string) string) (*dynamodb.Client, *dynamodbstreams.Client) {
	endpoint, streamsEndpoint := getenv(EndpointEnv), getenv(StreamsEndpointEnv)
	if streamsEndpoint == "" {
		streamsEndpoint = endpoint
	}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.DisableValidateResponseChecksum = true
		}
	})
	streams := dynamodbstreams.NewFromConfig(cfg, func(o *dynamodbstreams.Options) {
		if streamsEndpoint != "" {
			o.BaseEndpoint = aws.String(streamsEndpoint)
		}
	})
	return db, streams
}
