package launch

import "encoding/json"

// ForgetSelfImage drops the process's sealed copies of the executable, so
// that a benchmark can measure a start that has to make one.
func ForgetSelfImage() {
	selfMu.Lock()
	defer selfMu.Unlock()
	for k, img := range selfImages {
		if img.file != nil {
			img.file.Close()
		}
		delete(selfImages, k)
	}
}

// AnswerFunc is a function as an Answer, for the tests of Go.
type AnswerFunc func(result json.RawMessage, err error)

func (f AnswerFunc) Answer(result json.RawMessage, err error) { f(result, err) }
