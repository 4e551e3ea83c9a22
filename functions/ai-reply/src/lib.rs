//! ai-reply: answers new inbound customer messages from the data table stream (issue #4).
