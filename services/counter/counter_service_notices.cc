// Handlers of the counter: notices and surveys.
#include "services/counter/counter_service.h"

namespace wuye::counter {

grpc::Status CounterServiceImpl::PublishNotice(Ctx*, const pb::PublishNoticeRequest*, pb::Notice*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::GetNotice(Ctx*, const pb::GetNoticeRequest*, pb::Notice*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::ListNotices(Ctx*, const pb::ListNoticesRequest*,
                                             pb::ListNoticesResponse*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::LinkTickets(Ctx*, const pb::LinkTicketsRequest*, pb::Notice*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::EndNotice(Ctx*, const pb::EndNoticeRequest*, pb::Notice*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::CreateSurvey(Ctx*, const pb::CreateSurveyRequest*, pb::Survey*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::GetSurvey(Ctx*, const pb::GetSurveyRequest*, pb::Survey*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::ListSurveys(Ctx*, const pb::ListSurveysRequest*,
                                             pb::ListSurveysResponse*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::RecordSurveyResponse(Ctx*, const pb::RecordSurveyResponseRequest*,
                                                      pb::SurveyResponse*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::GetSurveyResults(Ctx*, const pb::GetSurveyResultsRequest*,
                                                  pb::SurveyResults*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

grpc::Status CounterServiceImpl::CloseSurvey(Ctx*, const pb::CloseSurveyRequest*,
                                             pb::SurveyResults*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not yet");
}

}  // namespace wuye::counter
