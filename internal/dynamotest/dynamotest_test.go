package dynamotest

import (
	"errors"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestMain(m *testing.M) { Main(m) }

func TestClientTalksToTheSharedServer(t *testing.T) {
	ctx := t.Context()
	begin := time.Now()
	db := Client(t)
	table := TablePrefix(t) + "things"
	createTable(t, db, table)
	t.Logf("endpoint %s; first table ready after %v", Endpoint(t), time.Since(begin))

	out, err := db.ListTables(ctx, &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatalf("ListTables: %v", err)
	}
	if !slices.Contains(out.TableNames, table) {
		t.Fatalf("ListTables = %v, want it to include %q", out.TableNames, table)
	}
}

func TestOtherCredentialsAndRegionsSeeTheSameTables(t *testing.T) {
	if os.Getenv(EndpointEnv) != "" {
		t.Skipf("%s is set: whether its server shares tables across credentials depends on its -sharedDb", EndpointEnv)
	}
	table := TablePrefix(t) + "things"
	createTable(t, Client(t), table)

	// As the application under test might be configured.
	app := dynamodb.New(dynamodb.Options{
		Region:                          "eu-west-1",
		Credentials:                     credentials.NewStaticCredentialsProvider("app", "secret", ""),
		BaseEndpoint:                    aws.String(Endpoint(t)),
		DisableValidateResponseChecksum: true,
	})
	if _, err := app.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: &table}); err != nil {
		t.Fatalf("DescribeTable with other credentials and region: %v", err)
	}
}

func TestServerKeepsDataAcrossStopAndStart(t *testing.T) {
	ctx := t.Context()
	begin := time.Now()
	s := NewServer(t)
	t.Logf("own server at %s answered after %v", s.Endpoint(), time.Since(begin))
	db := s.Client()
	table := TablePrefix(t) + "things"
	createTable(t, db, table)
	put(t, db, table, "k1")

	endpoint, pid := s.Endpoint(), s.pid()
	s.Stop(t)
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("after Stop, signalling pid %d: %v; want ESRCH (no such process)", pid, err)
	}
	noRetry := func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 }
	if _, err := db.ListTables(ctx, &dynamodb.ListTablesInput{}, noRetry); err == nil {
		t.Fatal("ListTables succeeded while the server was stopped")
	}

	begin = time.Now()
	s.Start(t)
	t.Logf("restarted after %v", time.Since(begin))
	if s.Endpoint() != endpoint {
		t.Fatalf("endpoint after restart = %s, want %s", s.Endpoint(), endpoint)
	}
	// The same client: its pooled connections to the old process are dead.
	got, err := db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &table,
		Key:            map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "k1"}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("GetItem after restart: %v", err)
	}
	if got.Item == nil {
		t.Fatal("item written before the restart is gone")
	}
	put(t, db, table, "k2")
}

func TestStartTwiceIsRefused(t *testing.T) {
	s := NewServer(t)
	if err := s.start(); err == nil {
		t.Fatal("start of a running server succeeded")
	}
	s.Stop(t)
	s.Stop(t) // stopping a stopped server is harmless
}

func TestStartOnATakenPortFailsFast(t *testing.T) {
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dir, java, err := locate()
	if err != nil {
		skipOrFail(t, err)
	}
	s := &Server{dir: dir, java: java, port: l.Addr().(*net.TCPAddr).Port}
	// errAddrInUse comes only from DynamoDB Local's own report of the
	// port, read while it starts; running out of startTimeout is another
	// error. So this fails fast by construction, and no wall-clock bound is
	// asserted (the machine's load decides how long Java takes to say it).
	begin := time.Now()
	err = s.start()
	if !errors.Is(err, errAddrInUse) {
		t.Fatalf("start on a taken port: %v; want errAddrInUse", err)
	}
	t.Logf("start on a taken port failed in %v", time.Since(begin))
}

func TestTablePrefixIsAValidTableName(t *testing.T) {
	valid := regexp.MustCompile(`^[A-Za-z0-9_.-]{3,150}$`)
	for _, name := range []string{"plain", "with spaces/and#hash", strings.Repeat("x", 300)} {
		t.Run(name, func(t *testing.T) {
			a, b := TablePrefix(t), TablePrefix(t)
			if !valid.MatchString(a + "events") {
				t.Errorf("TablePrefix = %q: not a valid table name prefix", a)
			}
			if a == b {
				t.Errorf("two calls both gave %q", a)
			}
		})
	}
}

func TestMissingInstallIsNotInstalled(t *testing.T) {
	t.Setenv(DirEnv, t.TempDir())
	_, _, err := locate()
	if !errors.Is(err, errNotInstalled) {
		t.Fatalf("locate in an empty directory: %v; want errNotInstalled", err)
	}
}

func createTable(t *testing.T, db *dynamodb.Client, name string) {
	t.Helper()
	ctx := t.Context()
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            &name,
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
	})
	if err != nil {
		t.Fatalf("CreateTable %s: %v", name, err)
	}
	if err := dynamodb.NewTableExistsWaiter(db).Wait(ctx, &dynamodb.DescribeTableInput{TableName: &name}, 30*time.Second); err != nil {
		t.Fatalf("waiting for table %s: %v", name, err)
	}
}

func put(t *testing.T, db *dynamodb.Client, table, pk string) {
	t.Helper()
	_, err := db.PutItem(t.Context(), &dynamodb.PutItemInput{
		TableName: &table,
		Item:      map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}},
	})
	if err != nil {
		t.Fatalf("PutItem %s in %s: %v", pk, table, err)
	}
}
