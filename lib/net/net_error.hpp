// The exceptions of the transport layer. Internal; included as "net/net_error.hpp".
#pragma once

#include "spate/error.hpp"

namespace spate::detail::net {

/// The network layer failed: a malformed or oversized frame, a frame out of order, a peer that
/// could not be reached, a send that made no progress. The message names the peer when known.
class net_error : public spate::error {
 public:
  using spate::error::error;
};

/// The connection is gone: the peer closed or reset it, or this side closed it. The message says
/// which, and how far into a frame the stream was when it ended.
class connection_closed : public net_error {
 public:
  using net_error::net_error;
};

/// The handshake failed: a peer could not prove it holds the cluster secret (either direction),
/// or refused ours. Thrown by the side that connects; the listening side logs it instead.
class auth_error : public net_error {
 public:
  using net_error::net_error;
};

}  // namespace spate::detail::net
