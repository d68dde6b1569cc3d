//! A small Spark Connect client: SQL statements and queries with bound
//! parameters, local rows uploaded as Arrow, answers read back as Arrow.
//! Every call has a deadline, and a query whose caller stops waiting (the
//! user edited the rule, the request was dropped) is interrupted on the
//! cluster instead of running on.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use arrow_array::RecordBatch;
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use proto::execute_plan_response::ResponseType;
use proto::expression::literal::LiteralType;
use segment_contract::error::AppError;
use segment_core::sql::{CompiledSql, Param};
use spark_connect_core::{ChannelBuilder, RetryPolicy, SparkConnectClient};
use spark_connect_proto as proto;

/// What can go wrong talking to Spark, in words an operator can act on.
#[derive(Debug, thiserror::Error)]
pub enum SparkError {
    #[error("the Spark cluster at {url} is not reachable: {message}")]
    Unavailable { url: String, message: String },
    #[error("Spark refused the statement: {0}")]
    Refused(String),
    #[error("Spark did not answer within {} s", .0.as_secs())]
    TimedOut(Duration),
    #[error("Spark's answer could not be read: {0}")]
    Unreadable(String),
    #[error("the Spark session ended: {0}")]
    SessionEnded(String),
}

/// A connection to one Spark Connect server, cheap to clone.
///
/// Spark keeps `USE`, `SET` and temporary views per session, and a session
/// ends when it idles past Connect's timeout (60 min by default) or the
/// server restarts. The client sends back the server's id for its session,
/// so a lost session is an error rather than a fresh one with default
/// settings, and then opens a new session, replays its setup statements
/// and runs the request again.
#[derive(Clone)]
pub struct SparkClient {
    session: Arc<Mutex<Session>>,
    url: String,
    setup: Arc<[String]>,
}

#[derive(Clone)]
struct Session {
    client: Arc<SparkConnectClient>,
    /// The server's id for the session, once an answer has told it.
    server_side_id: Option<String>,
}

impl SparkClient {
    /// Connects to `url` (`sc://host:port`), checks that Spark answers, and
    /// runs `setup` (statements that make a session this client's own) now
    /// and in every later session.
    pub async fn connect(url: &str, setup: Vec<String>) -> Result<Self, SparkError> {
        let unavailable = |message: String| SparkError::Unavailable {
            url: url.to_string(),
            message,
        };
        let builder = ChannelBuilder::parse(url).map_err(|error| unavailable(error.to_string()))?;
        let mut client = SparkConnectClient::connect(&builder)
            .await
            .map_err(|error| unavailable(error.to_string()))?;
        // The crate retries an unreachable server for up to an hour; a
        // request here would rather hear within seconds that the cluster is down.
        client.set_retry_policy(RetryPolicy {
            max_retries: Some(3),
            initial_backoff_ms: 200,
            max_backoff_ms: Some(2_000),
            max_retry_exception_elapsed_time_ms: Some(10_000),
            ..RetryPolicy::default()
        });
        let spark = Self {
            session: Arc::new(Mutex::new(Session {
                client: Arc::new(client),
                server_side_id: None,
            })),
            url: url.to_string(),
            setup: setup.into(),
        };
        spark
            .query("SELECT 1", &[], Duration::from_secs(30))
            .await
            .map_err(|error| match error {
                SparkError::Unavailable { .. } => error,
                other => unavailable(other.to_string()),
            })?;
        let session = spark.current_session();
        spark.run_setup(&session).await?;
        Ok(spark)
    }

    /// Ends the session on the server (at shutdown, freeing what it holds
    /// there); a later request opens a new one.
    pub async fn release_session(&self) -> Result<(), SparkError> {
        let session = self.current_session();
        session
            .client
            .release_session()
            .await
            .map_err(|error| self.classify(error))
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs a statement (DDL, INSERT) to its end.
    pub async fn execute(&self, sql: &str, timeout: Duration) -> Result<(), SparkError> {
        self.run(sql_command(sql), timeout).await.map(drop)
    }

    /// Runs a query and returns its rows.
    pub async fn query(
        &self,
        sql: &str,
        params: &[Param],
        timeout: Duration,
    ) -> Result<Vec<RecordBatch>, SparkError> {
        self.run(proto::plan::OpType::Root(sql_relation(sql, params)), timeout)
            .await
    }

    /// Runs a statement compiled for [`segment_core::sql::Dialect::Spark`].
    pub async fn query_compiled(
        &self,
        sql: &CompiledSql,
        timeout: Duration,
    ) -> Result<Vec<RecordBatch>, SparkError> {
        self.query(&sql.text, &sql.params, timeout).await
    }

    /// Makes `rows` readable by later statements of this session as the
    /// temporary view `name`.
    pub async fn upload(&self, name: &str, rows: &RecordBatch, timeout: Duration) -> Result<(), SparkError> {
        let mut data = Vec::new();
        let mut writer = StreamWriter::try_new(&mut data, &rows.schema())
            .map_err(|error| SparkError::Unreadable(error.to_string()))?;
        writer
            .write(rows)
            .and_then(|()| writer.finish())
            .map_err(|error| SparkError::Unreadable(error.to_string()))?;
        drop(writer);
        let input = proto::Relation {
            rel_type: Some(proto::relation::RelType::LocalRelation(proto::LocalRelation {
                data: Some(data.into()),
                schema: None,
            })),
            ..Default::default()
        };
        let command = proto::Command {
            command_type: Some(proto::command::CommandType::CreateDataframeView(
                proto::CreateDataFrameViewCommand {
                    input: Some(input),
                    name: name.to_string(),
                    is_global: false,
                    replace: true,
                },
            )),
        };
        self.run(proto::plan::OpType::Command(command), timeout)
            .await
            .map(drop)
    }

    async fn run(&self, op: proto::plan::OpType, timeout: Duration) -> Result<Vec<RecordBatch>, SparkError> {
        let session = self.current_session();
        match self.run_in(&session, op.clone(), timeout).await {
            Err(SparkError::SessionEnded(reason)) => {
                tracing::info!(
                    reason,
                    url = self.url,
                    "the Spark session ended; opening a new one"
                );
                let renewed = self.renew(&session);
                self.run_setup(&renewed).await?;
                self.run_in(&renewed, op, timeout).await
            }
            answer => answer,
        }
    }

    fn current_session(&self) -> Session {
        self.session
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A new session in place of `ended`, unless a concurrent request has
    /// already replaced it.
    fn renew(&self, ended: &Session) -> Session {
        let mut current = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        if Arc::ptr_eq(&current.client, &ended.client) {
            *current = Session {
                client: Arc::new(ended.client.with_new_session_id()),
                server_side_id: None,
            };
        }
        current.clone()
    }

    async fn run_setup(&self, session: &Session) -> Result<(), SparkError> {
        for statement in self.setup.iter() {
            let command = sql_command(statement);
            self.run_in(session, command, Duration::from_secs(60)).await?;
        }
        Ok(())
    }

    async fn run_in(
        &self,
        session: &Session,
        op: proto::plan::OpType,
        timeout: Duration,
    ) -> Result<Vec<RecordBatch>, SparkError> {
        let operation_id = uuid::Uuid::new_v4().to_string();
        let request = proto::ExecutePlanRequest {
            session_id: session.client.session_id().to_string(),
            client_observed_server_side_session_id: session.server_side_id.clone(),
            user_context: Some(proto::UserContext::default()),
            operation_id: Some(operation_id.clone()),
            plan: Some(proto::Plan { op_type: Some(op) }),
            client_type: Some("segment-targeting".into()),
            ..Default::default()
        };
        // Dropped before the answer is complete (a deadline, or a caller that
        // stopped waiting): the operation is interrupted on the cluster.
        let mut guard = Interrupt {
            client: Some(session.client.clone()),
            operation_id,
        };
        let answer = tokio::time::timeout(timeout, self.collect(session, request)).await;
        match answer {
            Ok(Ok(batches)) => {
                guard.client = None;
                self.release(session, &guard.operation_id).await;
                Ok(batches)
            }
            Ok(Err(error)) => {
                guard.client = None;
                Err(error)
            }
            Err(_) => Err(SparkError::TimedOut(timeout)),
        }
    }

    async fn collect(
        &self,
        session: &Session,
        request: proto::ExecutePlanRequest,
    ) -> Result<Vec<RecordBatch>, SparkError> {
        let mut stream = session
            .client
            .execute_plan_reattachable(request)
            .await
            .map_err(|error| self.classify(error))?;
        let mut batches = Vec::new();
        while let Some(response) = stream.message().await.map_err(|error| self.classify(error))? {
            if session.server_side_id.is_none() {
                self.observe(session, &response.server_side_session_id);
            }
            if let Some(ResponseType::ArrowBatch(batch)) = response.response_type {
                let reader = StreamReader::try_new(std::io::Cursor::new(batch.data), None)
                    .map_err(|error| SparkError::Unreadable(error.to_string()))?;
                for batch in reader {
                    batches.push(batch.map_err(|error| SparkError::Unreadable(error.to_string()))?);
                }
            }
        }
        Ok(batches)
    }

    /// Lets the server drop a finished operation: a reattachable one is
    /// otherwise kept, plan and uploaded rows included, for minutes after
    /// its end (an import's uploads exhausted the driver's heap that way).
    async fn release(&self, session: &Session, operation_id: &str) {
        let request = proto::ReleaseExecuteRequest {
            session_id: session.client.session_id().to_string(),
            client_observed_server_side_session_id: session.server_side_id.clone(),
            user_context: Some(proto::UserContext::default()),
            operation_id: operation_id.to_string(),
            client_type: Some("segment-targeting".into()),
            release: Some(proto::release_execute_request::Release::ReleaseAll(
                proto::release_execute_request::ReleaseAll {},
            )),
        };
        if let Err(error) = session.client.release_execute(request).await {
            tracing::warn!(
                error = error.message(),
                operation_id,
                "could not release a finished Spark operation"
            );
        }
    }

    /// Remembers the server's id for `session`, the first time it is told.
    fn observe(&self, session: &Session, server_side_id: &str) {
        let mut current = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        if Arc::ptr_eq(&current.client, &session.client)
            && current.server_side_id.is_none()
            && !server_side_id.is_empty()
        {
            current.server_side_id = Some(server_side_id.to_string());
        }
    }

    fn classify(&self, error: spark_connect_core::SparkError) -> SparkError {
        // gRPC UNAVAILABLE (14) and DEADLINE_EXCEEDED (4): the cluster, not the statement.
        let message = error.message();
        if message.contains("INVALID_HANDLE.SESSION_") {
            return SparkError::SessionEnded(message);
        }
        match error.grpc_code {
            Some(14 | 4) => SparkError::Unavailable {
                url: self.url.clone(),
                message: error.message(),
            },
            _ => SparkError::Refused(error.message()),
        }
    }
}

impl From<SparkError> for AppError {
    fn from(error: SparkError) -> Self {
        match error {
            SparkError::Unavailable { .. } | SparkError::SessionEnded(_) => {
                tracing::warn!(%error, "Spark is not reachable");
                AppError::Unavailable(
                    "The Spark cluster that holds the tag data is not reachable. Try again in a minute."
                        .into(),
                )
            }
            SparkError::TimedOut(limit) => AppError::Timeout(format!(
                "Spark did not finish within {} s. Try again, or narrow the rule.",
                limit.as_secs()
            )),
            SparkError::Refused(_) | SparkError::Unreadable(_) => {
                tracing::error!(%error, "Spark failed a statement compiled from a valid plan");
                AppError::Internal
            }
        }
    }
}

struct Interrupt {
    client: Option<Arc<SparkConnectClient>>,
    operation_id: String,
}

impl Drop for Interrupt {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        let operation_id = std::mem::take(&mut self.operation_id);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(error) = client.interrupt_operation(&operation_id).await {
                    tracing::warn!(%error, operation_id, "could not interrupt a Spark operation");
                }
            });
        }
    }
}

fn sql_command(sql: &str) -> proto::plan::OpType {
    proto::plan::OpType::Command(proto::Command {
        command_type: Some(proto::command::CommandType::SqlCommand(proto::SqlCommand {
            input: Some(sql_relation(sql, &[])),
            ..Default::default()
        })),
    })
}

fn sql_relation(sql: &str, params: &[Param]) -> proto::Relation {
    proto::Relation {
        rel_type: Some(proto::relation::RelType::Sql(proto::Sql {
            query: sql.to_string(),
            pos_arguments: params.iter().map(literal).collect(),
            ..Default::default()
        })),
        ..Default::default()
    }
}

fn literal(param: &Param) -> proto::Expression {
    let literal_type = match param {
        Param::Text(text) => LiteralType::String(text.clone()),
        Param::Int(n) => LiteralType::Long(*n),
        Param::Real(x) => LiteralType::Double(*x),
        Param::Date(date) => LiteralType::Date(days_since_epoch(*date)),
    };
    proto::Expression {
        expr_type: Some(proto::expression::ExprType::Literal(proto::expression::Literal {
            literal_type: Some(literal_type),
            ..Default::default()
        })),
        ..Default::default()
    }
}

pub(crate) fn days_since_epoch(date: chrono::NaiveDate) -> i32 {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    i32::try_from((date - epoch).num_days()).unwrap_or(i32::MAX)
}
